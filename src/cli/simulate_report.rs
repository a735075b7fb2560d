//! How `deploy simulate` prints its conclusion and `--explore`'s table.

use std::time::Duration;

use crate::duration::format_duration;
use crate::simulate::durations::Durations;
use crate::simulate::explore::Explored;
use crate::simulate::outcome::Conclusion;

/// `+12.5s`, `+3m02.0s`, `+2h05m10.0s`: an offset on the timeline, to a tenth of a second.
fn at(ms: u64) -> String {
    let tenths = (ms + 50) / 100;
    let (hours, minutes, seconds) = (tenths / 36_000, (tenths / 600) % 60, (tenths % 600) as f64 / 10.0);
    match (hours, minutes) {
        (0, 0) => format!("+{seconds:.1}s"),
        (0, _) => format!("+{minutes}m{seconds:04.1}s"),
        _ => format!("+{hours}h{minutes:02}m{seconds:04.1}s"),
    }
}

pub fn render(conclusion: &Conclusion, durations: &Durations) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\nSimulated run: {} — a real run would exit {}\n",
        conclusion.outcome.word(),
        conclusion.exit_code
    ));
    if let Some(failure) = &conclusion.failure {
        out.push_str(&format!("  because {failure}\n"));
    }
    out.push_str(&format!("  simulated time: {}\n", format_duration(Duration::from_millis(conclusion.duration_ms))));
    if !conclusion.hosts.is_empty() {
        out.push_str("\nHosts at the end:\n");
        let width = conclusion.hosts.iter().map(|h| h.host.len() + h.environment.len()).max().unwrap_or(0) + 1;
        for host in &conclusion.hosts {
            let name = format!("{} {}", host.environment, host.host);
            out.push_str(&format!("  {name:<width$}  {}\n", host.state.word()));
        }
    }
    if !conclusion.irreversible_reached.is_empty() {
        out.push_str(&format!(
            "\nIrreversible stages reached (not undone): {}\n",
            conclusion.irreversible_reached.join(", ")
        ));
    }
    out.push_str("\nTimeline (simulated time):\n");
    for entry in &conclusion.timeline {
        out.push_str(&format!("  {:>11}  {}\n", at(entry.at_ms), entry.what));
    }
    out.push_str("\nDurations (one stage on one host):\n");
    for stage in &durations.listed {
        out.push_str(&format!(
            "  {}: {} — {}\n",
            stage.stage,
            format_duration(Duration::from_millis(stage.unit_ms)),
            stage.source.describe()
        ));
    }
    out.push_str("\nNothing ran: no process started and no host, file or state store was touched.\n");
    out
}

pub fn render_table(rows: &[Explored]) -> String {
    let width = rows.iter().map(|row| row.injection.len()).max().unwrap_or(9).max(9);
    let mut out = format!("{:<width$}  {:<26}  {:>4}  notes\n", "injection", "outcome", "exit");
    for row in rows {
        let mut notes = Vec::new();
        if !row.irreversible_reached.is_empty() {
            notes.push(format!("irreversible: {}", row.irreversible_reached.join(", ")));
        }
        if !row.mixed_hosts.is_empty() {
            notes.push(format!("mixed: {}", row.mixed_hosts.join(", ")));
        }
        if row.finding {
            notes.push("FINDING".to_string());
        }
        out.push_str(&format!(
            "{:<width$}  {:<26}  {:>4}  {}\n",
            row.injection,
            row.outcome.word(),
            row.exit_code,
            notes.join("; ")
        ));
    }
    let findings = rows.iter().filter(|row| row.finding).count();
    out.push_str(&format!(
        "\n{} scenario(s), {findings} finding(s) (rollback failed or a host left mixed)\n",
        rows.len()
    ));
    out
}
