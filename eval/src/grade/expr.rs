//! A small recursive-descent parser and evaluator for LaTeX-ish scalar expressions, used to
//! decide equivalence by value: numbers, `+ - * / ^`, implicit multiplication (`2x`, `3\sqrt5`,
//! `(x+1)(x-1)`), `\frac`, `\sqrt[n]{..}`, `\binom`, `\cdot`, `\times`, `\div`, `!`, `|x|`,
//! parentheses and braces, single-letter variables with subscripts (`x_1`), Greek letters,
//! `\pi`, `e` (Euler's number), `\infty`, and the usual functions (`\sin`, `\log_2`, `\ln`,
//! `sqrt(..)` written plainly...).
//!
//! Input is expected to be normalised first (`normalize`), so `\frac` always has braced
//! arguments. A plain `2^10` is read as 2 to the power 10 (not LaTeX's `2^1 0`). Parsing is
//! bounded in depth; anything it does not understand is an error, never a panic.

use std::collections::BTreeSet;

/// Nesting bound for the parser.
const MAX_DEPTH: usize = 100;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// A free variable, by name (`x`, `x_1`, `\theta`).
    Var(String),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `a + b`.
    Add(Box<Expr>, Box<Expr>),
    /// `a - b`.
    Sub(Box<Expr>, Box<Expr>),
    /// `a * b`.
    Mul(Box<Expr>, Box<Expr>),
    /// `a / b`.
    Div(Box<Expr>, Box<Expr>),
    /// `a ^ b`.
    Pow(Box<Expr>, Box<Expr>),
    /// `n`-th root of `x` (odd roots of negatives are real).
    Root(Box<Expr>, Box<Expr>),
    /// `n!`.
    Fact(Box<Expr>),
    /// `\binom{n}{k}`.
    Binom(Box<Expr>, Box<Expr>),
    /// `|x|`.
    Abs(Box<Expr>),
    /// A named one-argument function.
    Func(Func, Box<Expr>),
    /// `\log_b x`.
    Log(Box<Expr>, Box<Expr>),
}

/// One-argument functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// sine
    Sin,
    /// cosine
    Cos,
    /// tangent
    Tan,
    /// secant
    Sec,
    /// cosecant
    Csc,
    /// cotangent
    Cot,
    /// arcsine
    Asin,
    /// arccosine
    Acos,
    /// arctangent
    Atan,
    /// natural logarithm (`\ln`, and `\log` without a base)
    Ln,
    /// exponential
    Exp,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    /// A single letter, possibly with a subscript: `x`, `x_1`.
    Letter(String),
    /// A control word without the backslash.
    Cmd(String),
    /// Any other single character.
    Ch(char),
}

fn lex(s: &str) -> Option<Vec<Tok>> {
    const PLAIN_FUNCS: &[&str] = &["sqrt", "sin", "cos", "tan", "ln", "log", "exp", "pi"];
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch.is_ascii_digit() || (ch == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let (v, next) = number(&c, i)?;
            out.push(Tok::Num(v));
            i = next;
        } else if ch == '\\' {
            let start = i + 1;
            let mut end = start;
            while end < c.len() && c[end].is_ascii_alphabetic() {
                end += 1;
            }
            if end == start {
                return None; // `\{`, `\\`, ... are not scalar syntax
            }
            out.push(Tok::Cmd(c[start..end].iter().collect()));
            i = end;
        } else if ch.is_ascii_alphabetic() {
            // A plain function name spelled out as a whole letter run.
            let mut end = i;
            while end < c.len() && c[end].is_ascii_alphabetic() {
                end += 1;
            }
            let run: String = c[i..end].iter().collect();
            if PLAIN_FUNCS.contains(&run.as_str()) {
                out.push(Tok::Cmd(run));
                i = end;
                continue;
            }
            let mut name = ch.to_string();
            i += 1;
            if i < c.len() && c[i] == '_' {
                let (sub, next) = subscript(&c, i + 1)?;
                name.push('_');
                name.push_str(&sub);
                i = next;
            }
            out.push(Tok::Letter(name));
        } else {
            out.push(Tok::Ch(ch));
            i += 1;
        }
    }
    Some(out)
}

/// A number starting at `i`: digits, an optional decimal part, and an optional repeating
/// part `\overline{..}` (`0.1\overline{6}` is 1/6). Returns the value and the next index.
fn number(c: &[char], mut i: usize) -> Option<(f64, usize)> {
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < c.len() && c[*i].is_ascii_digit() {
            *i += 1;
        }
        c[start..*i].iter().collect::<String>()
    };
    let int = digits(&mut i);
    let overline: Vec<char> = "\\overline{".chars().collect();
    let at_overline = |i: usize| c.get(i..i + overline.len()) == Some(&overline[..]);
    let mut frac = String::new();
    let mut dot = false;
    if c.get(i) == Some(&'.') && (c.get(i + 1).is_some_and(char::is_ascii_digit) || at_overline(i + 1)) {
        dot = true;
        i += 1;
        frac = digits(&mut i);
    }
    let int_v = if int.is_empty() { 0.0 } else { int.parse::<f64>().ok()? };
    if dot && at_overline(i) {
        let mut j = i + overline.len();
        let rep = digits(&mut j);
        if rep.is_empty() || rep.len() > 15 || frac.len() > 15 || c.get(j) != Some(&'}') {
            return None;
        }
        // 0.frac(rep) = (frac·rep − frac) / (10^|frac| · (10^|rep| − 1))
        let full: f64 = format!("{frac}{rep}").parse().ok()?;
        let head: f64 = if frac.is_empty() { 0.0 } else { frac.parse().ok()? };
        let den = 10f64.powi(frac.len() as i32) * (10f64.powi(rep.len() as i32) - 1.0);
        return Some((int_v + (full - head) / den, j + 1));
    }
    let text = if dot { format!("{int}.{frac}") } else { int };
    Some((text.parse().ok()?, i))
}

/// A subscript starting at `i`: a braced group of letters/digits or one character.
fn subscript(c: &[char], i: usize) -> Option<(String, usize)> {
    if c.get(i) == Some(&'{') {
        let close = c[i..].iter().position(|&x| x == '}')? + i;
        let sub: String = c[i + 1..close].iter().collect();
        (!sub.is_empty() && sub.chars().all(|x| x.is_ascii_alphanumeric())).then_some((sub, close + 1))
    } else {
        let x = *c.get(i)?;
        x.is_ascii_alphanumeric().then(|| (x.to_string(), i + 1))
    }
}

const GREEK: &[&str] = &[
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
];

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    abs_depth: usize,
}

type R = Option<Expr>;

fn bx(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn is_ch(&self, c: char) -> bool {
        self.peek() == Some(&Tok::Ch(c))
    }

    fn is_cmd(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Tok::Cmd(n)) if n == name)
    }

    fn eat_ch(&mut self, c: char) -> bool {
        let hit = self.is_ch(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn expr(&mut self) -> R {
        self.enter()?;
        let mut l = self.product()?;
        loop {
            if self.eat_ch('+') {
                l = Expr::Add(bx(l), bx(self.product()?));
            } else if self.eat_ch('-') {
                l = Expr::Sub(bx(l), bx(self.product()?));
            } else {
                break;
            }
        }
        self.depth -= 1;
        Some(l)
    }

    fn product(&mut self) -> R {
        let mut l = self.unary()?;
        loop {
            if self.is_cmd("cdot") || self.is_cmd("times") {
                self.pos += 1;
                l = Expr::Mul(bx(l), bx(self.unary()?));
            } else if self.eat_ch('*') {
                l = Expr::Mul(bx(l), bx(self.unary()?));
            } else if self.is_cmd("div") {
                self.pos += 1;
                l = Expr::Div(bx(l), bx(self.unary()?));
            } else if self.eat_ch('/') {
                l = Expr::Div(bx(l), bx(self.unary()?));
            } else if self.starts_atom() {
                l = Expr::Mul(bx(l), bx(self.power()?));
            } else {
                break;
            }
        }
        Some(l)
    }

    fn starts_atom(&self) -> bool {
        match self.peek() {
            Some(Tok::Num(_)) | Some(Tok::Letter(_)) => true,
            Some(Tok::Cmd(n)) => !matches!(n.as_str(), "cdot" | "times" | "div"),
            Some(Tok::Ch(c)) => matches!(c, '(' | '{' | '[') || (*c == '|' && self.abs_depth == 0),
            None => false,
        }
    }

    fn unary(&mut self) -> R {
        self.enter()?;
        let e = if self.eat_ch('-') {
            Expr::Neg(bx(self.unary()?))
        } else if self.eat_ch('+') {
            self.unary()?
        } else {
            self.power()?
        };
        self.depth -= 1;
        Some(e)
    }

    fn power(&mut self) -> R {
        self.enter()?;
        let mut base = self.atom()?;
        while self.eat_ch('!') {
            base = Expr::Fact(bx(base));
        }
        let e = if self.eat_ch('^') {
            let exp = if self.eat_ch('-') { Expr::Neg(bx(self.power()?)) } else { self.power()? };
            Expr::Pow(bx(base), bx(exp))
        } else {
            base
        };
        self.depth -= 1;
        Some(e)
    }

    /// `{expr}` or, without braces, one atom (`\frac12`-style arguments).
    fn group(&mut self) -> R {
        if self.eat_ch('{') {
            let e = self.expr()?;
            self.eat_ch('}').then_some(e)
        } else {
            self.atom()
        }
    }

    fn atom(&mut self) -> R {
        self.enter()?;
        let tok = self.peek()?.clone();
        self.pos += 1;
        let e = match tok {
            Tok::Num(v) => Expr::Num(v),
            Tok::Letter(n) if n == "e" => Expr::Num(std::f64::consts::E),
            Tok::Letter(n) => Expr::Var(n),
            Tok::Ch('(') => {
                let e = self.expr()?;
                self.eat_ch(')').then_some(e)?
            }
            Tok::Ch('{') => {
                let e = self.expr()?;
                self.eat_ch('}').then_some(e)?
            }
            Tok::Ch('[') => {
                let e = self.expr()?;
                self.eat_ch(']').then_some(e)?
            }
            Tok::Ch('|') => {
                self.abs_depth += 1;
                let e = self.expr()?;
                self.abs_depth -= 1;
                Expr::Abs(bx(self.eat_ch('|').then_some(e)?))
            }
            Tok::Cmd(name) => self.command(&name)?,
            Tok::Ch(_) => return None,
        };
        self.depth -= 1;
        Some(e)
    }

    fn command(&mut self, name: &str) -> R {
        let func = match name {
            "sin" => Some(Func::Sin),
            "cos" => Some(Func::Cos),
            "tan" => Some(Func::Tan),
            "sec" => Some(Func::Sec),
            "csc" => Some(Func::Csc),
            "cot" => Some(Func::Cot),
            "arcsin" => Some(Func::Asin),
            "arccos" => Some(Func::Acos),
            "arctan" => Some(Func::Atan),
            "ln" => Some(Func::Ln),
            "exp" => Some(Func::Exp),
            _ => None,
        };
        if let Some(f) = func {
            // `\sin^2 x`
            let pow = if self.eat_ch('^') { Some(self.group()?) } else { None };
            let arg = self.power()?;
            let e = Expr::Func(f, bx(arg));
            return Some(match pow {
                Some(p) => Expr::Pow(bx(e), bx(p)),
                None => e,
            });
        }
        Some(match name {
            "pi" => Expr::Num(std::f64::consts::PI),
            "infty" => Expr::Num(f64::INFINITY),
            "frac" => {
                let n = self.group()?;
                let d = self.group()?;
                Expr::Div(bx(n), bx(d))
            }
            "binom" => {
                let n = self.group()?;
                let k = self.group()?;
                Expr::Binom(bx(n), bx(k))
            }
            "sqrt" => {
                let index = if self.eat_ch('[') {
                    let e = self.expr()?;
                    self.eat_ch(']').then_some(e)?
                } else {
                    Expr::Num(2.0)
                };
                Expr::Root(bx(index), bx(self.group()?))
            }
            "log" => {
                if self.eat_ch('_') {
                    let base = self.group()?;
                    Expr::Log(bx(base), bx(self.power()?))
                } else {
                    Expr::Func(Func::Ln, bx(self.power()?))
                }
            }
            g if GREEK.contains(&g) => Expr::Var(format!("\\{g}")),
            _ => return None,
        })
    }
}

/// Parses a normalised scalar expression; `None` when it is not one.
pub fn parse(s: &str) -> Option<Expr> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return None;
    }
    let mut p = Parser { toks, pos: 0, depth: 0, abs_depth: 0 };
    let e = p.expr()?;
    (p.pos == p.toks.len()).then_some(e)
}

impl Expr {
    /// The free variables of the expression.
    pub fn vars(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.collect_vars(&mut out);
        out
    }

    fn collect_vars(&self, out: &mut BTreeSet<String>) {
        match self {
            Expr::Num(_) => {}
            Expr::Var(n) => {
                out.insert(n.clone());
            }
            Expr::Neg(a) | Expr::Fact(a) | Expr::Abs(a) | Expr::Func(_, a) => a.collect_vars(out),
            Expr::Add(a, b)
            | Expr::Sub(a, b)
            | Expr::Mul(a, b)
            | Expr::Div(a, b)
            | Expr::Pow(a, b)
            | Expr::Root(a, b)
            | Expr::Binom(a, b)
            | Expr::Log(a, b) => {
                a.collect_vars(out);
                b.collect_vars(out);
            }
        }
    }

    /// The value with variables looked up in `env` (missing ones are NaN). Undefined results
    /// (a negative number under an even root, `0/0`) are NaN.
    pub fn eval(&self, env: &dyn Fn(&str) -> f64) -> f64 {
        match self {
            Expr::Num(v) => *v,
            Expr::Var(n) => env(n),
            Expr::Neg(a) => -a.eval(env),
            Expr::Add(a, b) => a.eval(env) + b.eval(env),
            Expr::Sub(a, b) => a.eval(env) - b.eval(env),
            Expr::Mul(a, b) => a.eval(env) * b.eval(env),
            Expr::Div(a, b) => a.eval(env) / b.eval(env),
            Expr::Pow(a, b) => a.eval(env).powf(b.eval(env)),
            Expr::Root(n, x) => {
                let (n, x) = (n.eval(env), x.eval(env));
                let odd = n.fract() == 0.0 && (n as i64).rem_euclid(2) == 1;
                if x < 0.0 && odd {
                    -(-x).powf(1.0 / n)
                } else {
                    x.powf(1.0 / n)
                }
            }
            Expr::Fact(a) => factorial(a.eval(env)),
            Expr::Binom(n, k) => {
                let (n, k) = (n.eval(env), k.eval(env));
                if n.fract() != 0.0 || k.fract() != 0.0 || k < 0.0 || n < 0.0 || k > n || n > 1000.0 {
                    return f64::NAN;
                }
                let k = k.min(n - k) as u32;
                (0..k).fold(1.0, |acc, j| acc * (n - f64::from(j)) / f64::from(j + 1))
            }
            Expr::Abs(a) => a.eval(env).abs(),
            Expr::Func(f, a) => {
                let x = a.eval(env);
                match f {
                    Func::Sin => x.sin(),
                    Func::Cos => x.cos(),
                    Func::Tan => x.tan(),
                    Func::Sec => 1.0 / x.cos(),
                    Func::Csc => 1.0 / x.sin(),
                    Func::Cot => 1.0 / x.tan(),
                    Func::Asin => x.asin(),
                    Func::Acos => x.acos(),
                    Func::Atan => x.atan(),
                    Func::Ln => x.ln(),
                    Func::Exp => x.exp(),
                }
            }
            Expr::Log(b, x) => x.eval(env).ln() / b.eval(env).ln(),
        }
    }
}

/// `n!` for integers 0..=170, NaN otherwise.
fn factorial(n: f64) -> f64 {
    if n.fract() != 0.0 || !(0.0..=170.0).contains(&n) {
        return f64::NAN;
    }
    (1..=n as u32).fold(1.0, |acc, k| acc * f64::from(k))
}
