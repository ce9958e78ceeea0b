//! Chat templates (`tokenizer.chat_template` / `tokenizer_config.json`), rendered as
//! transformers' `apply_chat_template` does: a Jinja environment with `trim_blocks` and
//! `lstrip_blocks`, Python string/dict methods (minijinja-contrib `pycompat`), the globals
//! `raise_exception` and `strftime_now`, a `tojson` filter with `json.dumps` output, and the
//! variables `messages`, `tools` (none), `documents` (none), `add_generation_prompt` and the
//! tokenizer's named special tokens.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind};
use serde::{Deserialize, Serialize};

use super::hf_config::SpecialTokens;
use super::{pyjson, strftime};
use crate::error::{ModelError, Result};

const TEMPLATE_NAME: &str = "chat_template";

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant`, ...
    pub role: String,
    /// The message text.
    pub content: String,
}

impl ChatMessage {
    /// A message with any role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage { role: role.into(), content: content.into() }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// A message as the template sees it: a dict with keys in insertion order (`role`, `content`),
/// like the Python dict transformers passes, so `tojson` and `items()` keep that order.
#[derive(Debug)]
struct MessageValue(ChatMessage);

impl Object for MessageValue {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "role" => Some(Value::from(self.0.role.as_str())),
            "content" => Some(Value::from(self.0.content.as_str())),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&["role", "content"])
    }
}

fn raise_exception(message: String) -> std::result::Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// Renders minijinja's error with its template location and cause chain.
fn template_error(e: Error) -> ModelError {
    let mut msg = format!("{e:#}");
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        msg.push_str(&format!("; caused by: {c}"));
        cause = c.source();
    }
    ModelError::ChatTemplate(msg)
}

/// A compiled chat template with the tokenizer's special tokens bound.
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    specials: BTreeMap<&'static str, Value>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("source_len", &self.source.len())
            .field("specials", &self.specials)
            .finish()
    }
}

impl ChatTemplate {
    /// Compiles `source`; `specials` become the template variables `bos_token`, `eos_token`,
    /// `pad_token`, `unk_token` and `additional_special_tokens` (those that are set, as in
    /// transformers' `special_tokens_map`).
    pub fn new(source: impl Into<String>, specials: &SpecialTokens) -> Result<Self> {
        let source = source.into();
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(false);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", pyjson::tojson);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime::strftime_now);
        env.add_template_owned(TEMPLATE_NAME, source.clone()).map_err(template_error)?;
        let mut vars = BTreeMap::new();
        for (name, tok) in [
            ("bos_token", &specials.bos),
            ("eos_token", &specials.eos),
            ("pad_token", &specials.pad),
            ("unk_token", &specials.unk),
        ] {
            if let Some(t) = tok {
                vars.insert(name, Value::from(t.as_str()));
            }
        }
        if !specials.additional.is_empty() {
            vars.insert("additional_special_tokens", Value::from(specials.additional.clone()));
        }
        Ok(ChatTemplate { env, source, specials: vars })
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders a conversation; with `add_generation_prompt` the template appends the header
    /// of the assistant's reply.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let msgs: Vec<Value> = messages.iter().map(|m| Value::from_object(MessageValue(m.clone()))).collect();
        let mut ctx: BTreeMap<&str, Value> = self.specials.clone();
        ctx.insert("messages", Value::from(msgs));
        ctx.insert("tools", Value::from(()));
        ctx.insert("documents", Value::from(()));
        ctx.insert("add_generation_prompt", Value::from(add_generation_prompt));
        let tmpl = self.env.get_template(TEMPLATE_NAME).map_err(template_error)?;
        tmpl.render(ctx).map_err(template_error)
    }

    /// The prompt for one user turn, with an optional system message, ready for generation.
    pub fn prompt(&self, system: Option<&str>, user: &str) -> Result<String> {
        let mut messages = Vec::with_capacity(2);
        if let Some(s) = system {
            messages.push(ChatMessage::system(s));
        }
        messages.push(ChatMessage::user(user));
        self.render(&messages, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specials() -> SpecialTokens {
        SpecialTokens { bos: Some("<s>".into()), eos: Some("</s>".into()), ..Default::default() }
    }

    #[test]
    fn trims_blocks_and_binds_specials() {
        let src = "{{ bos_token }}{% for m in messages %}\n  {% if m.role == 'user' %}\n[{{ m['content'] | trim }}]\n  {% endif %}\n{% endfor %}\n{% if add_generation_prompt %}>{% endif %}\n";
        let t = ChatTemplate::new(src, &specials()).unwrap();
        let msgs = [ChatMessage::user(" hi "), ChatMessage::assistant("x")];
        assert_eq!(t.render(&msgs, true).unwrap(), "<s>[hi]\n>");
        assert_eq!(t.render(&msgs, false).unwrap(), "<s>[hi]\n");
    }

    #[test]
    fn raise_exception_is_an_error_with_its_message() {
        let t = ChatTemplate::new("{{ raise_exception('roles must alternate') }}", &specials()).unwrap();
        let e = t.render(&[], false).unwrap_err().to_string();
        assert!(e.contains("roles must alternate"), "{e}");
    }

    #[test]
    fn python_methods_tojson_and_none_tools() {
        let src = "{{ messages[0].content.split('|')[-1].strip() }} {{ messages[0] | tojson }} {{ tools is none }} {{ 'x'.upper() }}";
        let t = ChatTemplate::new(src, &specials()).unwrap();
        let out = t.render(&[ChatMessage::user("a| b ")], false).unwrap();
        assert_eq!(out, r#"b {"role": "user", "content": "a| b "} True X"#);
    }
}
