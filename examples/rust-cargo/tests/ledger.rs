use ledger::{balance, largest};

#[test]
fn largest_finds_max() {
    assert_eq!(largest(&[3, 9, 4]), Some(9));
}

#[test]
fn balance_of_nothing_is_zero() {
    assert_eq!(balance(&[]), 0);
}
