//! RFC 3339 UTC timestamps as the protocol writes and reads them.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A point in time, written as RFC 3339 in UTC with millisecond precision
/// (`2025-10-20T14:30:00.123Z`); read from any RFC 3339 form, with or without fraction or offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp::from(SystemTime::now())
    }

    pub fn parse(s: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(s, &Rfc3339).map(|t| Timestamp(t.to_offset(time::UtcOffset::UTC)))
    }

    /// This time plus `d`, saturating at the far future instead of overflowing.
    pub fn plus(self, d: Duration) -> Self {
        let d = time::Duration::try_from(d).unwrap_or(time::Duration::MAX);
        Timestamp(self.0.checked_add(d).unwrap_or(self.0))
    }

    pub fn to_system_time(self) -> SystemTime {
        SystemTime::from(self.0)
    }

    /// How long ago this was, zero if it is in the future.
    pub fn age(self) -> Duration {
        SystemTime::now()
            .duration_since(self.to_system_time())
            .unwrap_or_default()
    }

    /// Whether this time has passed.
    pub fn is_past(self) -> bool {
        SystemTime::now() >= self.to_system_time()
    }

    pub fn unix_seconds_f64(self) -> f64 {
        (self.0.unix_timestamp_nanos() as f64) / 1e9
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        let t = OffsetDateTime::from(t);
        // Millisecond precision keeps lines short and still orders records made in one second.
        let ms = t.millisecond();
        Timestamp(t.replace_nanosecond(ms as u32 * 1_000_000).unwrap_or(t))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Timestamp::parse(&raw)
            .map_err(|e| serde::de::Error::custom(format!("timestamp is not RFC 3339: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_utc_milliseconds_and_reads_every_rfc3339_form() {
        let t = Timestamp::parse("2025-10-20T14:30:00Z").expect("seed form");
        assert_eq!(t.to_string(), "2025-10-20T14:30:00.000Z");
        let offset = Timestamp::parse("2025-10-20T16:30:00+02:00").expect("offset form");
        assert_eq!(offset, t);
        let go = Timestamp::parse("2025-10-20T14:30:00.123456789Z").expect("Go nanos");
        assert!(go > t);
        assert!(Timestamp::parse("20 Oct 2025").is_err());
        assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
    }

    #[test]
    fn plus_and_past() {
        let now = Timestamp::now();
        assert!(!now.plus(Duration::from_secs(60)).is_past());
        assert!(Timestamp::parse("2000-01-01T00:00:00Z").is_ok_and(|t| t.is_past()));
        assert_eq!(
            now.plus(Duration::MAX).to_string().len(),
            now.to_string().len().max(24)
        );
    }
}
