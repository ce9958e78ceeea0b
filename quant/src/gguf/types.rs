//! The GGML tensor types: numeric ids as stored in GGUF, block geometry (elements per block and
//! bytes per block), written once here and read by the reader, the dequantizers and `inspect`.

use std::fmt;

/// A GGML tensor encoding. Ids are those of ggml's `enum ggml_type`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
    IQ2XXS,
    IQ2XS,
    IQ3XXS,
    IQ1S,
    IQ4NL,
    IQ3S,
    IQ2S,
    IQ4XS,
    I8,
    I16,
    I32,
    I64,
    F64,
    IQ1M,
    BF16,
    TQ1_0,
    TQ2_0,
    MXFP4,
}

/// (type, id, name, elements per block, bytes per block).
const TABLE: &[(GgmlType, u32, &str, usize, usize)] = &[
    (GgmlType::F32, 0, "F32", 1, 4),
    (GgmlType::F16, 1, "F16", 1, 2),
    (GgmlType::Q4_0, 2, "Q4_0", 32, 2 + 16),
    (GgmlType::Q4_1, 3, "Q4_1", 32, 2 + 2 + 16),
    (GgmlType::Q5_0, 6, "Q5_0", 32, 2 + 4 + 16),
    (GgmlType::Q5_1, 7, "Q5_1", 32, 2 + 2 + 4 + 16),
    (GgmlType::Q8_0, 8, "Q8_0", 32, 2 + 32),
    (GgmlType::Q8_1, 9, "Q8_1", 32, 4 + 32),
    (GgmlType::Q2K, 10, "Q2_K", 256, 16 + 64 + 2 + 2),
    (GgmlType::Q3K, 11, "Q3_K", 256, 32 + 64 + 12 + 2),
    (GgmlType::Q4K, 12, "Q4_K", 256, 2 + 2 + 12 + 128),
    (GgmlType::Q5K, 13, "Q5_K", 256, 2 + 2 + 12 + 32 + 128),
    (GgmlType::Q6K, 14, "Q6_K", 256, 128 + 64 + 16 + 2),
    (GgmlType::Q8K, 15, "Q8_K", 256, 4 + 256 + 32),
    (GgmlType::IQ2XXS, 16, "IQ2_XXS", 256, 2 + 64),
    (GgmlType::IQ2XS, 17, "IQ2_XS", 256, 2 + 64 + 8),
    (GgmlType::IQ3XXS, 18, "IQ3_XXS", 256, 2 + 96),
    (GgmlType::IQ1S, 19, "IQ1_S", 256, 2 + 32 + 16),
    (GgmlType::IQ4NL, 20, "IQ4_NL", 32, 2 + 16),
    (GgmlType::IQ3S, 21, "IQ3_S", 256, 2 + 64 + 32 + 8 + 4),
    (GgmlType::IQ2S, 22, "IQ2_S", 256, 2 + 64 + 8),
    (GgmlType::IQ4XS, 23, "IQ4_XS", 256, 2 + 2 + 4 + 128),
    (GgmlType::I8, 24, "I8", 1, 1),
    (GgmlType::I16, 25, "I16", 1, 2),
    (GgmlType::I32, 26, "I32", 1, 4),
    (GgmlType::I64, 27, "I64", 1, 8),
    (GgmlType::F64, 28, "F64", 1, 8),
    (GgmlType::IQ1M, 29, "IQ1_M", 256, 32 + 16 + 8),
    (GgmlType::BF16, 30, "BF16", 1, 2),
    (GgmlType::TQ1_0, 34, "TQ1_0", 256, 2 + 4 * 13),
    (GgmlType::TQ2_0, 35, "TQ2_0", 256, 2 + 64),
    (GgmlType::MXFP4, 39, "MXFP4", 32, 1 + 16),
];

impl GgmlType {
    fn row(self) -> &'static (GgmlType, u32, &'static str, usize, usize) {
        TABLE.iter().find(|r| r.0 == self).expect("every GgmlType is in TABLE")
    }

    /// The type with ggml id `id`, if qtool knows it.
    pub fn from_id(id: u32) -> Option<Self> {
        TABLE.iter().find(|r| r.1 == id).map(|r| r.0)
    }

    /// The type named `name` (as printed by llama.cpp, e.g. `Q4_K`), case-insensitive.
    pub fn from_name(name: &str) -> Option<Self> {
        TABLE.iter().find(|r| r.2.eq_ignore_ascii_case(name)).map(|r| r.0)
    }

    /// ggml's numeric id.
    pub fn id(self) -> u32 {
        self.row().1
    }

    /// The name llama.cpp prints (`Q4_K`, `BF16`, ...).
    pub fn name(self) -> &'static str {
        self.row().2
    }

    /// Elements per block (1 for plain types).
    pub fn block_size(self) -> usize {
        self.row().3
    }

    /// Bytes per block.
    pub fn type_size(self) -> usize {
        self.row().4
    }

    /// Bytes taken by `n_elements` elements, or `None` when `n_elements` is not a whole number of
    /// blocks (or overflows).
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        let bs = self.block_size() as u64;
        if !n_elements.is_multiple_of(bs) {
            return None;
        }
        (n_elements / bs).checked_mul(self.type_size() as u64)
    }

    /// Bits per weight of this encoding.
    pub fn bits_per_weight(self) -> f64 {
        self.type_size() as f64 * 8.0 / self.block_size() as f64
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        for r in TABLE {
            assert_eq!(GgmlType::from_id(r.1), Some(r.0));
            assert_eq!(GgmlType::from_name(r.2), Some(r.0));
        }
        assert_eq!(GgmlType::from_id(4), None, "id 4 (old Q4_2) was removed from ggml");
    }

    #[test]
    fn block_geometry_matches_ggml_common() {
        // Sizes from ggml-common.h's static_asserts.
        assert_eq!(GgmlType::Q4K.type_size(), 144);
        assert_eq!(GgmlType::Q5K.type_size(), 176);
        assert_eq!(GgmlType::Q6K.type_size(), 210);
        assert_eq!(GgmlType::Q3K.type_size(), 110);
        assert_eq!(GgmlType::Q2K.type_size(), 84);
        assert_eq!(GgmlType::Q8_0.type_size(), 34);
        assert_eq!(GgmlType::Q4_0.bits_per_weight(), 4.5);
    }
}
