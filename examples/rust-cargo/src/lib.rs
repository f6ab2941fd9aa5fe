//! A tiny ledger, the fixture factory's cargo tests run.

pub fn balance(entries: &[i64]) -> i64 {
    entries.iter().sum()
}

pub fn largest(entries: &[i64]) -> Option<i64> {
    entries.iter().copied().max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_sums() {
        assert_eq!(balance(&[5, -2, 10]), 13);
    }

    #[test]
    fn largest_of_empty_is_none() {
        assert_eq!(largest(&[]), None);
    }
}
