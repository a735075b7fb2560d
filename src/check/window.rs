//! Time windows: `Mon-Fri 08:00-17:00 UTC`, `Sat,Sun 10:00-12:00 Europe/Berlin`,
//! `Mon-Sun 22:00-06:00 +02:00` (a range past midnight belongs to the day it starts).

use chrono::{DateTime, Datelike, Duration as ChronoDuration, FixedOffset, TimeZone, Timelike, Utc};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// Monday first.
    pub days: [bool; 7],
    /// Minutes after midnight.
    pub start: u32,
    pub end: u32,
    pub zone: Zone,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Zone {
    Utc,
    Offset(FixedOffset),
    Named(chrono_tz::Tz),
}

impl Window {
    /// Parses a window; the error says what is wrong in words.
    pub fn parse(text: &str) -> Result<Window, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (days_text, time_text, zone_text) = match words.as_slice() {
            [days, time] => (*days, *time, "UTC"),
            [days, time, zone] => (*days, *time, *zone),
            _ => return Err("expected `DAYS HH:MM-HH:MM ZONE`, for example `Mon-Fri 08:00-17:00 UTC`".into()),
        };
        let days = parse_days(days_text)?;
        let (start, end) =
            time_text.split_once('-').ok_or_else(|| format!("`{time_text}` is not a time range like `08:00-17:00`"))?;
        let start = parse_time(start)?;
        let end = parse_time(end)?;
        if start == end {
            return Err("the window opens and closes at the same minute".into());
        }
        let zone = parse_zone(zone_text)?;
        Ok(Window { days, start, end, zone, text: text.to_string() })
    }

    /// Whether `now` falls inside the window.
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        let (weekday, minute) = self.local(now);
        if self.start < self.end {
            self.days[weekday] && minute >= self.start && minute < self.end
        } else {
            // Past midnight: the evening part on a listed day, or the
            // morning part on the day after a listed day.
            let yesterday = (weekday + 6) % 7;
            (self.days[weekday] && minute >= self.start) || (self.days[yesterday] && minute < self.end)
        }
    }

    /// The first minute at or after `now` inside the window, within two weeks.
    pub fn next_open(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.contains(now) {
            return Some(now);
        }
        let base = now.with_second(0)?.with_nanosecond(0)?;
        (1..=14 * 24 * 60).map(|minutes| base + ChronoDuration::minutes(minutes)).find(|t| self.contains(*t))
    }

    fn local(&self, now: DateTime<Utc>) -> (usize, u32) {
        let (weekday, hour, minute) = match &self.zone {
            Zone::Utc => (now.weekday(), now.hour(), now.minute()),
            Zone::Offset(offset) => {
                let t = offset.from_utc_datetime(&now.naive_utc());
                (t.weekday(), t.hour(), t.minute())
            }
            Zone::Named(tz) => {
                let t = tz.from_utc_datetime(&now.naive_utc());
                (t.weekday(), t.hour(), t.minute())
            }
        };
        (weekday.num_days_from_monday() as usize, hour * 60 + minute)
    }
}

fn parse_days(text: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for part in text.split(',') {
        let day = |name: &str| {
            DAYS.iter()
                .position(|d| d.eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("`{name}` is not a day; days are Mon Tue Wed Thu Fri Sat Sun"))
        };
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                let mut current = from;
                loop {
                    days[current] = true;
                    if current == to {
                        break;
                    }
                    current = (current + 1) % 7;
                }
            }
            None => days[day(part)?] = true,
        }
    }
    Ok(days)
}

fn parse_time(text: &str) -> Result<u32, String> {
    let bad = || format!("`{text}` is not a time of day like `08:00`");
    let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
    let hour: u32 = hour.parse().map_err(|_| bad())?;
    let minute: u32 = minute.parse().map_err(|_| bad())?;
    if hour == 24 && minute == 0 {
        return Ok(24 * 60);
    }
    if hour > 23 || minute > 59 {
        return Err(bad());
    }
    Ok(hour * 60 + minute)
}

fn parse_zone(text: &str) -> Result<Zone, String> {
    if text.eq_ignore_ascii_case("UTC") || text.eq_ignore_ascii_case("Z") || text.eq_ignore_ascii_case("GMT") {
        return Ok(Zone::Utc);
    }
    let offset_text = text.strip_prefix("UTC").unwrap_or(text);
    if let Some(sign) = offset_text.chars().next().filter(|c| *c == '+' || *c == '-') {
        let rest = &offset_text[1..];
        let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
        let bad = || format!("`{text}` is not a UTC offset like `+02:00`");
        let hours: i32 = hours.parse().map_err(|_| bad())?;
        let minutes: i32 = minutes.parse().map_err(|_| bad())?;
        let seconds = (hours * 3600 + minutes * 60) * if sign == '-' { -1 } else { 1 };
        return FixedOffset::east_opt(seconds).map(Zone::Offset).ok_or_else(bad);
    }
    text.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
        format!("`{text}` is not a time zone; use `UTC`, an offset like `+02:00` or a name like `Europe/Berlin`")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn office_hours() {
        let window = Window::parse("Mon-Fri 08:00-17:00 UTC").unwrap_or_else(|e| panic!("{e}"));
        assert!(window.contains(at("2026-11-26T09:00:00Z"))); // Thursday
        assert!(!window.contains(at("2026-11-26T17:00:00Z")));
        assert!(!window.contains(at("2026-11-28T09:00:00Z"))); // Saturday
        assert_eq!(window.next_open(at("2026-11-28T09:00:00Z")), Some(at("2026-11-30T08:00:00Z")));
    }

    #[test]
    fn past_midnight_and_zones() {
        let window = Window::parse("Fri 22:00-06:00 +02:00").unwrap_or_else(|e| panic!("{e}"));
        assert!(window.contains(at("2026-11-27T21:00:00Z"))); // Fri 23:00 local
        assert!(window.contains(at("2026-11-28T03:00:00Z"))); // Sat 05:00 local
        assert!(!window.contains(at("2026-11-28T05:00:00Z"))); // Sat 07:00 local
        assert!(Window::parse("Sat,Sun 10:00-12:00 Europe/Berlin").is_ok());
    }

    #[test]
    fn errors_in_words() {
        assert!(Window::parse("Mon-Fro 08:00-17:00").is_err_and(|e| e.contains("Fro")));
        assert!(Window::parse("Mon 25:00-26:00").is_err());
        assert!(Window::parse("Mon 08:00-17:00 Mars/Base").is_err());
    }
}
