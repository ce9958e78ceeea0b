//! The 12-byte scale field of Q4_K and Q5_K: eight 6-bit sub-block scales and eight 6-bit
//! sub-block minimums. Bytes 0..4 hold scales 0..4 in their low 6 bits and the top two bits of
//! scales 4..8; bytes 4..8 likewise for the minimums; bytes 8..12 hold the low nibbles of scales
//! 4..8 (low half) and of minimums 4..8 (high half).

/// Unpacks `(scales, mins)`, each eight values in 0..64.
#[inline]
pub fn unpack_scales_mins(s: &[u8; 12]) -> ([u8; 8], [u8; 8]) {
    let mut sc = [0u8; 8];
    let mut mn = [0u8; 8];
    for j in 0..4 {
        sc[j] = s[j] & 0x3f;
        mn[j] = s[j + 4] & 0x3f;
        sc[j + 4] = (s[j + 8] & 0x0f) | ((s[j] >> 2) & 0x30);
        mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 2) & 0x30);
    }
    (sc, mn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_by_hand() {
        let mut s = [0u8; 12];
        // Scales 0..4 = 1, 2, 3, 63; minimums 0..4 = 5, 6, 7, 0.
        s[..4].copy_from_slice(&[1, 2, 3, 63]);
        s[4..8].copy_from_slice(&[5, 6, 7, 0]);
        // Scale 4 = 0b11_0101 (high bits from byte 0, low nibble from byte 8);
        // minimum 7 = 0b10_1001 (high bits from byte 7, high nibble of byte 11).
        s[0] |= 0b11 << 6;
        s[8] = 0x05;
        s[7] |= 0b10 << 6;
        s[11] = 0x90;
        let (sc, mn) = unpack_scales_mins(&s);
        assert_eq!(sc, [1, 2, 3, 63, 0b11_0101, 0, 0, 0]);
        assert_eq!(mn, [5, 6, 7, 0, 0, 0, 0, 0b10_1001]);
        let (sc, mn) = unpack_scales_mins(&[0xff; 12]);
        assert_eq!((sc, mn), ([63; 8], [63; 8]));
    }
}
