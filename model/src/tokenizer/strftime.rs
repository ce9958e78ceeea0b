//! `strftime_now(format)` for chat templates (Llama 3.x print today's date): the C `strftime`
//! conversions templates use, in UTC (transformers uses the local time zone; qtool's machines
//! run in UTC).

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tm {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// 0 = Monday.
    weekday: u32,
    /// 1-based day of the year.
    yday: u32,
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// UTC calendar fields of a Unix time (proleptic Gregorian calendar).
fn broken_down(secs: i64) -> Tm {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
    let weekday = (days + 3).rem_euclid(7) as u32;
    let mut year = 1970;
    let mut d = days;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if d < 0 {
            year -= 1;
            d += if is_leap(year) { 366 } else { 365 };
        } else if d >= len {
            d -= len;
            year += 1;
        } else {
            break;
        }
    }
    let yday = d as u32 + 1;
    let feb = if is_leap(year) { 29 } else { 28 };
    let lens = [31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 0;
    while d >= lens[month] {
        d -= lens[month];
        month += 1;
    }
    Tm {
        year,
        month: month as u32 + 1,
        day: d as u32 + 1,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
        weekday,
        yday,
    }
}

/// Formats Unix time `secs` (UTC) with a C `strftime` format. Supports `%a %A %b %B %d %e %H
/// %I %j %m %M %p %S %y %Y %%` and glibc's `%-d`-style unpadded forms; other conversions are
/// copied through unchanged.
pub fn format_unix(secs: i64, fmt: &str) -> String {
    let t = broken_down(secs);
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let unpadded = chars.peek() == Some(&'-');
        if unpadded {
            chars.next();
        }
        let Some(conv) = chars.next() else {
            out.push('%');
            break;
        };
        let num = |n: u32, width: usize| {
            if unpadded {
                n.to_string()
            } else {
                format!("{n:0width$}")
            }
        };
        let hour12 = match t.hour % 12 {
            0 => 12,
            h => h,
        };
        let piece = match conv {
            'a' => WEEKDAYS[t.weekday as usize][..3].to_owned(),
            'A' => WEEKDAYS[t.weekday as usize].to_owned(),
            'b' | 'h' => MONTHS[t.month as usize - 1][..3].to_owned(),
            'B' => MONTHS[t.month as usize - 1].to_owned(),
            'd' => num(t.day, 2),
            'e' if unpadded => t.day.to_string(),
            'e' => format!("{:2}", t.day),
            'H' => num(t.hour, 2),
            'I' => num(hour12, 2),
            'j' => num(t.yday, 3),
            'm' => num(t.month, 2),
            'M' => num(t.minute, 2),
            'p' => if t.hour < 12 { "AM" } else { "PM" }.to_owned(),
            'S' => num(t.second, 2),
            'y' => num(t.year.rem_euclid(100) as u32, 2),
            'Y' => t.year.to_string(),
            '%' => "%".to_owned(),
            other => format!("%{}{other}", if unpadded { "-" } else { "" }),
        };
        out.push_str(&piece);
    }
    out
}

/// The template global: the current UTC time formatted with `fmt`.
pub fn strftime_now(fmt: String) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    format_unix(now, &fmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2024-07-23 14:05:09 UTC, a Tuesday, day 205 of a leap year.
        let t = 1_721_743_509;
        assert_eq!(format_unix(t, "%d %b %Y"), "23 Jul 2024");
        assert_eq!(format_unix(t, "%A %B %-d, %y %H:%M:%S %I%p %j"), "Tuesday July 23, 24 14:05:09 02PM 205");
        assert_eq!(format_unix(0, "%a %Y-%m-%d %%"), "Thu 1970-01-01 %");
        // 2000-02-29, leap day of a century leap year.
        assert_eq!(format_unix(951_782_400, "%Y-%m-%d %a"), "2000-02-29 Tue");
    }
}
