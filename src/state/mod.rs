//! State: history, locks, journal.
