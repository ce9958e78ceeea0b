//! The table of integer number formats qtool quantizes to: bits, the signed code range the
//! algorithms reason in, and the unsigned range the packed layouts store.
//!
//! Convention (the one compressed-tensors, AutoGPTQ and vLLM share): a `b`-bit format has signed
//! codes `q` in `[-2^(b-1), 2^(b-1) - 1]`; what is stored is the unsigned code `u = q + 2^(b-1)` in
//! `[0, 2^b - 1]`. A value dequantizes as `(u - z) * scale`, where `z` is the zero point in
//! unsigned code units; symmetric formats have the implied zero `z = 2^(b-1)`.

/// An integer number format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntFormat {
    /// 2-bit integers: signed codes -2..=1, stored 0..=3.
    Int2,
    /// 3-bit integers: signed codes -4..=3, stored 0..=7.
    Int3,
    /// 4-bit integers: signed codes -8..=7, stored 0..=15.
    Int4,
    /// 8-bit integers: signed codes -128..=127, stored 0..=255.
    Int8,
}

/// One row of the format table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntFormatInfo {
    /// The format this row describes.
    pub format: IntFormat,
    /// Lower-case name, as used in scheme descriptions ("int4").
    pub name: &'static str,
    /// Bits per code.
    pub bits: u32,
    /// Smallest signed code, `-2^(b-1)`.
    pub signed_min: i32,
    /// Largest signed code, `2^(b-1) - 1`.
    pub signed_max: i32,
    /// Largest stored (unsigned) code, `2^b - 1`.
    pub code_max: u32,
    /// `2^(b-1)`: stored = signed + offset; also the implied zero point of symmetric formats.
    pub offset: u32,
}

const fn row(format: IntFormat, name: &'static str, bits: u32) -> IntFormatInfo {
    IntFormatInfo {
        format,
        name,
        bits,
        signed_min: -(1 << (bits - 1)),
        signed_max: (1 << (bits - 1)) - 1,
        code_max: (1 << bits) - 1,
        offset: 1 << (bits - 1),
    }
}

/// The format table, narrowest first.
pub const INT_FORMATS: [IntFormatInfo; 4] = [
    row(IntFormat::Int2, "int2", 2),
    row(IntFormat::Int3, "int3", 3),
    row(IntFormat::Int4, "int4", 4),
    row(IntFormat::Int8, "int8", 8),
];

// Compile-time checks that the table is consistent: every code fits a u8 and the table is
// indexed by the enum's discriminant.
const _: () = {
    let mut i = 0;
    while i < INT_FORMATS.len() {
        let r = &INT_FORMATS[i];
        assert!(r.format as usize == i);
        assert!(r.bits >= 2 && r.bits <= 8);
        assert!(r.code_max <= u8::MAX as u32);
        assert!(r.signed_max - r.signed_min == r.code_max as i32);
        i += 1;
    }
};

impl IntFormat {
    /// Every format, narrowest first.
    pub const ALL: [IntFormat; 4] = [IntFormat::Int2, IntFormat::Int3, IntFormat::Int4, IntFormat::Int8];

    /// This format's row of [`INT_FORMATS`].
    pub fn info(self) -> &'static IntFormatInfo {
        &INT_FORMATS[self as usize]
    }

    /// The format with this many bits, if the table has one.
    pub fn from_bits(bits: u32) -> Option<IntFormat> {
        INT_FORMATS.iter().find(|r| r.bits == bits).map(|r| r.format)
    }

    /// Bits per code.
    pub fn bits(self) -> u32 {
        self.info().bits
    }

    /// Lower-case name ("int4").
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Largest stored code, `2^b - 1`.
    pub fn code_max(self) -> u8 {
        self.info().code_max as u8
    }

    /// `2^(b-1)`, the implied zero point of symmetric formats.
    pub fn offset(self) -> u8 {
        self.info().offset as u8
    }

    /// The signed code range `(-2^(b-1), 2^(b-1) - 1)`.
    pub fn signed_range(self) -> (i32, i32) {
        (self.info().signed_min, self.info().signed_max)
    }
}
