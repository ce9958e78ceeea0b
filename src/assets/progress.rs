//! Progress display: a spinner while a client runs, a byte bar while hashing or joining.
//! indicatif draws only on a terminal; the one-line summaries are printed either way.

use indicatif::{ProgressBar, ProgressStyle};
use std::time::Duration;

/// A ticking spinner with a message and the elapsed time.
pub fn spinner(msg: String) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"));
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// A bar counting `total` bytes.
pub fn bytes(total: u64, msg: String) -> ProgressBar {
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(msg);
    pb
}
