//! When the daily digest is due: a local time of day in a time zone, through
//! daylight-saving changes.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The digest's local time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestSchedule {
    /// Local time of day, e.g. 09:00.
    pub at: NaiveTime,
    /// The time zone it is local to.
    pub tz: Tz,
}

impl DigestSchedule {
    /// The instant of `day`'s digest. A time skipped by a clock change moves
    /// to the first local minute after the gap; a time that occurs twice is
    /// the first occurrence, so a day never gets two slots.
    pub fn instant(&self, day: NaiveDate) -> DateTime<Utc> {
        let wanted = day.and_time(self.at);
        (0..=24 * 60)
            .find_map(|minutes| {
                match self
                    .tz
                    .from_local_datetime(&(wanted + TimeDelta::minutes(minutes)))
                {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                        Some(t.with_timezone(&Utc))
                    }
                    LocalResult::None => None,
                }
            })
            .unwrap_or_else(|| wanted.and_utc())
    }

    /// The local day at `now`.
    pub fn day(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.tz).date_naive()
    }

    /// The local day whose digest is due at `now` (today's, once its time has
    /// come), or `None` before today's time.
    pub fn due_day(&self, now: DateTime<Utc>) -> Option<NaiveDate> {
        let today = self.day(now);
        (now >= self.instant(today)).then_some(today)
    }

    /// The next digest instant after `now`: today's if still ahead, else
    /// tomorrow's.
    pub fn next_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = self.day(now);
        let at = self.instant(today);
        if now < at {
            return at;
        }
        today
            .succ_opt()
            .map_or(at + TimeDelta::days(1), |tomorrow| self.instant(tomorrow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .expect("RFC 3339")
            .with_timezone(&Utc)
    }

    fn schedule(at: &str, tz: &str) -> DigestSchedule {
        DigestSchedule {
            at: NaiveTime::parse_from_str(at, "%H:%M").expect("time"),
            tz: tz.parse().expect("time zone"),
        }
    }

    fn date(raw: &str) -> NaiveDate {
        raw.parse().expect("date")
    }

    #[test]
    fn instants_across_daylight_saving_changes() {
        let cases = [
            // Moscow: UTC+3 all year.
            (
                "09:00",
                "Europe/Moscow",
                "2026-12-01",
                "2026-12-01T06:00:00Z",
            ),
            (
                "09:00",
                "Europe/Moscow",
                "2026-07-01",
                "2026-07-01T06:00:00Z",
            ),
            // Berlin: +1 in winter, +2 in summer; 09:00 on both change days.
            (
                "09:00",
                "Europe/Berlin",
                "2026-03-28",
                "2026-03-28T08:00:00Z",
            ),
            (
                "09:00",
                "Europe/Berlin",
                "2026-03-29",
                "2026-03-29T07:00:00Z",
            ),
            (
                "09:00",
                "Europe/Berlin",
                "2026-10-25",
                "2026-10-25T08:00:00Z",
            ),
            // 02:30 does not exist on 29 March: the first minute after the gap.
            (
                "02:30",
                "Europe/Berlin",
                "2026-03-29",
                "2026-03-29T01:00:00Z",
            ),
            // 02:30 happens twice on 25 October: the first (still +2).
            (
                "02:30",
                "Europe/Berlin",
                "2026-10-25",
                "2026-10-25T00:30:00Z",
            ),
            // New York springs forward at 02:00 on 8 March 2026.
            (
                "02:15",
                "America/New_York",
                "2026-03-08",
                "2026-03-08T07:00:00Z",
            ),
            ("00:00", "UTC", "2026-12-31", "2026-12-31T00:00:00Z"),
        ];
        for (at, tz, day, expected) in cases {
            assert_eq!(
                schedule(at, tz).instant(date(day)),
                utc(expected),
                "{at} {tz} {day}"
            );
        }
    }

    #[test]
    fn due_day_and_next_instant() {
        let moscow = schedule("09:00", "Europe/Moscow");
        let cases = [
            // Before 09:00 local: nothing due, next is today's.
            ("2026-12-01T05:59:59Z", None, "2026-12-01T06:00:00Z"),
            (
                "2026-12-01T06:00:00Z",
                Some("2026-12-01"),
                "2026-12-02T06:00:00Z",
            ),
            (
                "2026-12-01T20:59:00Z",
                Some("2026-12-01"),
                "2026-12-02T06:00:00Z",
            ),
            // 00:30 local on 2 December is 21:30 UTC on the 1st.
            ("2026-12-01T21:30:00Z", None, "2026-12-02T06:00:00Z"),
        ];
        for (now, due, next) in cases {
            assert_eq!(moscow.due_day(utc(now)), due.map(date), "{now}");
            assert_eq!(moscow.next_after(utc(now)), utc(next), "{now}");
        }
        // The day after the autumn change is 25 hours after the one before.
        let berlin = schedule("09:00", "Europe/Berlin");
        let before = berlin.instant(date("2026-10-24"));
        assert_eq!(berlin.next_after(before), utc("2026-10-25T08:00:00Z"));
        assert_eq!(
            berlin.next_after(utc("2026-10-25T08:00:00Z")) - utc("2026-10-25T08:00:00Z"),
            TimeDelta::hours(24)
        );
        assert_eq!(berlin.next_after(before) - before, TimeDelta::hours(25));
    }
}
