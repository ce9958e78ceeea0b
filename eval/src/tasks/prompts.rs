//! The user messages put to the model, worded as in the study: math asks for step-by-step
//! reasoning and a `\boxed{}` answer, GPQA for a final `Answer: LETTER` line, HumanEval for
//! the completed function in a Python code block.

/// The study's math instruction, appended to every math problem.
pub const MATH_INSTRUCTION: &str = "Please reason step by step, and put your final answer within \\boxed{}.";

/// A math problem with the study's instruction.
pub fn math(question: &str) -> String {
    format!("{}\n{MATH_INSTRUCTION}", question.trim())
}

/// A four-option question in the simple-evals GPQA format (ending with `Answer: LETTER`).
pub fn multiple_choice(question: &str, options: &[&str; 4]) -> String {
    format!(
        "Answer the following multiple choice question. The last line of your response should be of the \
         following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by step \
         before answering.\n\n{}\n\nA) {}\nB) {}\nC) {}\nD) {}",
        question.trim(),
        options[0].trim(),
        options[1].trim(),
        options[2].trim(),
        options[3].trim()
    )
}

/// A HumanEval function stub to complete.
pub fn code(stub: &str) -> String {
    format!(
        "Complete the following Python function. Reply with the whole function in one ```python code block.\n\n\
         ```python\n{}```",
        stub
    )
}
