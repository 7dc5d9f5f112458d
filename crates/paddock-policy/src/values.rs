//! Scalar values of the policy language: sizes, CPU shares, paths, root images. Each parses from
//! the text a user writes (`FromStr`, used by the CLI) and deserializes from YAML through the same
//! code, so the two can never disagree.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::resolved::{AbsPath, ByteSize, Cpus, RootFs};

/// A value that does not parse: what was written and what was expected instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not a size such as `512M`, `1G` or `1048576`.
    #[error("{value:?} is not a size: write an integer with an optional K, M, G or T suffix (binary multiples), e.g. 512M")]
    ByteSize {
        /// What was written.
        value: String,
    },
    /// Not a CPU share such as `1.5`.
    #[error("{value:?} is not a CPU share: write a positive number of CPUs with at most 3 decimals, at most 4096, e.g. 1.5")]
    Cpus {
        /// What was written.
        value: String,
    },
    /// Not an absolute normalised path.
    #[error("{value:?} is not an absolute, normalised path: start with /, no \".\", \"..\" or empty segments, no trailing /, no : , \\ or control characters")]
    Path {
        /// What was written.
        value: String,
    },
    /// Not a CIDR range.
    #[error("{value:?} is not a network range: write an address and prefix length with no host bits set, e.g. 10.0.0.0/8 or fd00::/8")]
    Cidr {
        /// What was written.
        value: String,
    },
    /// Not a host pattern.
    #[error("{value:?} is not an allowed host pattern: {reason}")]
    Host {
        /// What was written.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Not a path glob.
    #[error("{value:?} is not a path glob: {reason}")]
    PathGlob {
        /// What was written.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

const MAX_CPU_MILLIS: u64 = 4096 * 1000;

impl FromStr for ByteSize {
    type Err = ValueError;

    /// Parses `512M`, `1G`, `64K`, `1T` (also `MiB`-style suffixes) or a plain byte count.
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let err = || ValueError::ByteSize {
            value: s.to_owned(),
        };
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, suffix) = s.split_at(split);
        if digits.is_empty() || digits.len() > 20 {
            return Err(err());
        }
        let shift = match suffix {
            "" | "B" => 0,
            "K" | "KiB" => 10,
            "M" | "MiB" => 20,
            "G" | "GiB" => 30,
            "T" | "TiB" => 40,
            _ => return Err(err()),
        };
        let n: u64 = digits.parse().map_err(|_| err())?;
        n.checked_mul(1u64 << shift).map(ByteSize).ok_or_else(err)
    }
}

impl fmt::Display for ByteSize {
    /// The shortest exact spelling: `1G`, `512M`, `1000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (shift, suffix) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
            if n != 0 && n.is_multiple_of(1u64 << shift) {
                return write!(f, "{}{suffix}", n >> shift);
            }
        }
        write!(f, "{n}")
    }
}

impl FromStr for Cpus {
    type Err = ValueError;

    /// Parses a decimal number of CPUs with at most three decimals (`1.5` → 1500 millis).
    fn from_str(s: &str) -> Result<Self, ValueError> {
        let err = || ValueError::Cpus {
            value: s.to_owned(),
        };
        let (int, frac) = match s.split_once('.') {
            Some((_, "")) => return Err(err()),
            Some(parts) => parts,
            None => (s, ""),
        };
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || int.len() > 5
            || frac.len() > 3
            || !all_digits(int)
            || !all_digits(frac)
        {
            return Err(err());
        }
        let whole: u64 = int.parse().map_err(|_| err())?;
        let mut millis_part: u64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            millis_part += u64::from(b - b'0') * [100, 10, 1][i];
        }
        let millis = whole * 1000 + millis_part;
        if millis > MAX_CPU_MILLIS {
            return Err(err());
        }
        Ok(Cpus(millis))
    }
}

impl Cpus {
    fn from_f64(v: f64) -> Result<Self, ValueError> {
        let err = || ValueError::Cpus {
            value: v.to_string(),
        };
        if !v.is_finite() || v < 0.0 || v * 1000.0 > MAX_CPU_MILLIS as f64 {
            return Err(err());
        }
        let millis = (v * 1000.0).round();
        if (v * 1000.0 - millis).abs() > 1e-6 {
            return Err(err());
        }
        // In range and integral, checked above.
        Ok(Cpus(millis as u64))
    }
}

impl fmt::Display for Cpus {
    /// `1.5`, `2`, `0.25`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 1000, self.0 % 1000);
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let s = format!("{frac:03}");
            write!(f, "{whole}.{}", s.trim_end_matches('0'))
        }
    }
}

impl FromStr for AbsPath {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        AbsPath::new(s).ok_or_else(|| ValueError::Path {
            value: s.to_owned(),
        })
    }
}

impl FromStr for RootFs {
    type Err = ValueError;

    /// `host`, or an absolute directory.
    fn from_str(s: &str) -> Result<Self, ValueError> {
        if s == "host" {
            Ok(RootFs::Host)
        } else {
            s.parse().map(RootFs::Dir)
        }
    }
}

impl fmt::Display for RootFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootFs::Host => f.write_str("host"),
            RootFs::Dir(p) => p.fmt(f),
        }
    }
}

/// Implements `Deserialize` for a type through its `FromStr`, so YAML and CLI share one parser.
macro_rules! deserialize_from_str {
    ($($ty:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    )*};
}
pub(crate) use deserialize_from_str;

deserialize_from_str!(AbsPath, RootFs);

/// Accepts a YAML integer or a string for sizes (`1048576` or `1M`).
impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as 512M, 1G or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v).map(ByteSize).map_err(|_| {
                    E::custom(ValueError::ByteSize {
                        value: v.to_string(),
                    })
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Accepts a YAML number or a string for CPU shares (`1.5`, `2`, `"0.25"`).
impl<'de> Deserialize<'de> for Cpus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Cpus;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of CPUs such as 1.5")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cpus, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cpus, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cpus, E> {
                Cpus::from_f64(v).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Cpus, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!("512M".parse::<ByteSize>(), Ok(ByteSize(512 << 20)));
        assert_eq!("1G".parse::<ByteSize>(), Ok(ByteSize(1 << 30)));
        assert_eq!("64K".parse::<ByteSize>(), Ok(ByteSize(64 << 10)));
        assert_eq!("1T".parse::<ByteSize>(), Ok(ByteSize(1 << 40)));
        assert_eq!("2GiB".parse::<ByteSize>(), Ok(ByteSize(2 << 30)));
        assert_eq!("1048576".parse::<ByteSize>(), Ok(ByteSize(1 << 20)));
        for bad in [
            "",
            "M",
            "1.5G",
            "-1",
            "1 G",
            "1g",
            "1P",
            "99999999999T",
            "1GG",
        ] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_display_round_trips() {
        for s in ["1G", "512M", "64K", "1T", "1000", "0", "1536M"] {
            assert_eq!(
                s.parse::<ByteSize>().map(|b| b.to_string()),
                Ok(s.to_owned())
            );
        }
    }

    #[test]
    fn cpus_parse_as_millis() {
        assert_eq!("1.5".parse::<Cpus>(), Ok(Cpus(1500)));
        assert_eq!("2".parse::<Cpus>(), Ok(Cpus(2000)));
        assert_eq!("0.25".parse::<Cpus>(), Ok(Cpus(250)));
        assert_eq!("0.001".parse::<Cpus>(), Ok(Cpus(1)));
        for bad in ["", ".5", "1.", "1.0001", "-1", "1e3", "nan", "5000", "1,5"] {
            assert!(bad.parse::<Cpus>().is_err(), "{bad}");
        }
        assert_eq!(Cpus::from_f64(1.5), Ok(Cpus(1500)));
        assert!(Cpus::from_f64(f64::NAN).is_err());
        assert!(Cpus::from_f64(0.0001).is_err());
        assert_eq!(Cpus(1500).to_string(), "1.5");
        assert_eq!(Cpus(250).to_string(), "0.25");
        assert_eq!(Cpus(3000).to_string(), "3");
    }

    #[test]
    fn paths_refuse_traversal_and_relative_forms() {
        assert!("/opt/tools".parse::<AbsPath>().is_ok());
        assert!("/".parse::<AbsPath>().is_ok());
        for bad in [
            "opt",
            "/opt/../etc",
            "/opt/./x",
            "//opt",
            "/opt/",
            "",
            "/a:b",
            "/a\nb",
        ] {
            assert!(bad.parse::<AbsPath>().is_err(), "{bad:?}");
        }
        assert_eq!("host".parse::<RootFs>(), Ok(RootFs::Host));
        assert!(matches!(
            "/srv/rootfs".parse::<RootFs>(),
            Ok(RootFs::Dir(_))
        ));
        assert!("rootfs".parse::<RootFs>().is_err());
    }
}
