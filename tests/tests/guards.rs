//! The comparison helper itself must fail on the cases that would make a parity test pass vacuously.

use tests::{assert_close, tol};

#[test]
#[should_panic(expected = "all zero")]
fn zero_reference_fails() {
    assert_close("zeros", &[0.0, 0.0], &[0.0, 0.0], tol::GUARD);
}

#[test]
#[should_panic(expected = "not finite")]
fn nan_value_fails() {
    assert_close("nan", &[f64::NAN, 1.0], &[1.0, 1.0], tol::GUARD);
}

#[test]
#[should_panic(expected = "not finite")]
fn nan_reference_fails() {
    assert_close("nan ref", &[1.0, 1.0], &[1.0, f64::NAN], tol::GUARD);
}

#[test]
#[should_panic(expected = "differ by more than")]
fn real_difference_fails() {
    assert_close("diff", &[1.0, 2.0], &[1.0, 2.1], tol::GUARD);
}

#[test]
#[should_panic(expected = "length")]
fn length_mismatch_fails() {
    assert_close("len", &[1.0], &[1.0, 2.0], tol::GUARD);
}

#[test]
fn close_values_pass() {
    let worst = assert_close("ok", &[1.0, 2.0 + 1e-7], &[1.0, 2.0], tol::GUARD);
    assert!(worst > 0.0 && worst < 1e-6);
}
