//! "Did you mean ...?": the known names nearest to a misspelt one. One rule for every message
//! that refuses a name: an unknown key of the configuration, a parameter a fence agent does not
//! declare.

/// The known names close to `wrong`, sorted: those at the smallest edit distance when it is
/// small (at most a third of the name, at least 1); else those `wrong` starts with, or that
/// share its first four characters (`ipadress`: `ip`, `ipaddr`).
pub fn near<'a>(wrong: &str, known: &[&'a str]) -> Vec<&'a str> {
    let limit = (wrong.chars().count() / 3).max(1);
    let scored: Vec<(usize, &str)> = known
        .iter()
        .map(|k| (distance(wrong, k), *k))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .collect();
    let mut out: Vec<&str> = match scored.iter().map(|(d, _)| *d).min() {
        Some(best) => scored
            .iter()
            .filter(|(d, _)| *d == best)
            .map(|(_, k)| *k)
            .collect(),
        None => known
            .iter()
            .copied()
            .filter(|k| *k != wrong && shares_a_prefix(wrong, k))
            .collect(),
    };
    out.sort_unstable();
    out.dedup();
    out
}

/// `; did you mean a?`, `; did you mean a or b?`, or nothing when no name is close.
pub fn did_you_mean(wrong: &str, known: &[&str]) -> String {
    match near(wrong, known).as_slice() {
        [] => String::new(),
        [one] => format!("; did you mean {one}?"),
        [init @ .., last] => format!("; did you mean {} or {last}?", init.join(", ")),
    }
}

fn shares_a_prefix(wrong: &str, known: &str) -> bool {
    let common = wrong
        .chars()
        .zip(known.chars())
        .take_while(|(a, b)| a == b)
        .count();
    (known.chars().count() >= 2 && wrong.starts_with(known)) || common >= 4
}

/// Edit distance with transpositions (optimal string alignment): `verfy`/`verify` 1,
/// `lanpuls`/`lanplus` 1.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_suggested_and_strangers_are_not() {
        let keys = [
            "agent",
            "target_arg",
            "params",
            "verify",
            "env",
            "timeout_secs",
        ];
        assert_eq!(did_you_mean("verfy", &keys), "; did you mean verify?");
        assert_eq!(
            did_you_mean("timeout_sec", &keys),
            "; did you mean timeout_secs?"
        );
        assert_eq!(did_you_mean("colour", &keys), "");
        let ipmilan = ["ip", "ipaddr", "ipport", "lanplus", "login", "password"];
        assert_eq!(
            did_you_mean("ipadress", &ipmilan),
            "; did you mean ip or ipaddr?"
        );
        assert_eq!(did_you_mean("lanpuls", &ipmilan), "; did you mean lanplus?");
        assert_eq!(distance("verfy", "verify"), 1);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
