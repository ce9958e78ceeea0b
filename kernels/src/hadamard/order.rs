//! Which orders qtool can build: the base orders `m` (Paley I and Paley II orders up to
//! [`MAX_BASE_ORDER`] that are not powers of two) and the split of an order `n` into `m · 2^p`
//! with the smallest base order that works.

/// The largest base order considered (bigger bases make the dense `m × m` mix too slow to be
/// worth it, and every order qtool meets factors below it).
pub const MAX_BASE_ORDER: usize = 256;

/// How a base matrix is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Construction {
    /// `m = 1`: the `1 × 1` matrix `[1]` (the whole order is a power of two, Sylvester).
    One,
    /// Paley I from the prime `q ≡ 3 (mod 4)`: order `q + 1`.
    PaleyI(usize),
    /// Paley II from the prime `q ≡ 1 (mod 4)`: order `2 (q + 1)`.
    PaleyII(usize),
}

impl Construction {
    /// The order of the matrix it builds.
    pub fn order(self) -> usize {
        match self {
            Construction::One => 1,
            Construction::PaleyI(q) => q + 1,
            Construction::PaleyII(q) => 2 * (q + 1),
        }
    }
}

impl std::fmt::Display for Construction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Construction::One => write!(f, "[1]"),
            Construction::PaleyI(q) => write!(f, "Paley I (q = {q})"),
            Construction::PaleyII(q) => write!(f, "Paley II (q = {q})"),
        }
    }
}

/// Whether `v` is prime (trial division; `v` is small).
pub(crate) fn is_prime(v: usize) -> bool {
    if v < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= v {
        if v.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

/// The construction of base order `m` (not a power of two, at most [`MAX_BASE_ORDER`]), or
/// `None`. Paley I is preferred when both apply (12, 60, 84, 108, 180, 228).
pub(crate) fn construction(m: usize) -> Option<Construction> {
    if m == 1 {
        return Some(Construction::One);
    }
    if m > MAX_BASE_ORDER || m.is_power_of_two() || !m.is_multiple_of(4) {
        return None;
    }
    let q1 = m - 1;
    if q1 % 4 == 3 && is_prime(q1) {
        return Some(Construction::PaleyI(q1));
    }
    let q2 = m / 2 - 1;
    if q2 % 4 == 1 && is_prime(q2) {
        return Some(Construction::PaleyII(q2));
    }
    None
}

/// Every base order `m > 1`, ascending.
pub(crate) fn base_orders() -> Vec<usize> {
    (2..=MAX_BASE_ORDER).filter(|&m| construction(m).is_some()).collect()
}

/// `n = m · 2^p` with the smallest base order `m` that [`construction`] covers: `(m, p,
/// construction)`, or `None`.
pub(crate) fn split(n: usize) -> Option<(usize, u32, Construction)> {
    if n == 0 {
        return None;
    }
    let tz = n.trailing_zeros();
    let odd = n >> tz;
    if odd == 1 {
        return Some((1, tz, Construction::One));
    }
    (0..=tz).find_map(|j| {
        let m = odd << j;
        construction(m).map(|c| (m, tz - j, c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits() {
        assert_eq!(split(1), Some((1, 0, Construction::One)));
        assert_eq!(split(4096), Some((1, 12, Construction::One)));
        assert_eq!(split(576), Some((36, 4, Construction::PaleyII(17))));
        assert_eq!(split(896), Some((28, 5, Construction::PaleyII(13))));
        assert_eq!(split(960), Some((60, 4, Construction::PaleyI(59))));
        assert_eq!(split(1536), Some((12, 7, Construction::PaleyI(11))));
        assert_eq!(split(4864), Some((76, 6, Construction::PaleyII(37))));
        assert_eq!(split(8960), Some((140, 6, Construction::PaleyI(139))));
        assert_eq!(split(448), Some((28, 4, Construction::PaleyII(13))));
        for n in [0, 3, 7, 13 * 4, 11008, 172, 43 * 1024] {
            assert_eq!(split(n), None, "n = {n}");
        }
    }

    #[test]
    fn base_order_list() {
        let b = base_orders();
        assert_eq!(&b[..8], &[12, 20, 24, 28, 36, 44, 48, 60][..]);
        assert!(!b.contains(&172) && !b.contains(&92) && !b.contains(&116));
        assert!(b.iter().all(|&m| m % 4 == 0 && !m.is_power_of_two()));
    }
}
