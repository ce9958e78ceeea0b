//! Tests of extraction, normalisation and equivalence.
use super::*;

#[test]
fn smoke() {
    assert!(equivalent("\\frac12", "0.5"));
}
