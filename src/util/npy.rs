//! The `.npy` format (NumPy's array file): reading the header of a 2-D float matrix and
//! writing a row-major f32 matrix.

/// What is wrong with a `.npy` header (the caller names the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyError(pub String);

impl std::fmt::Display for NpyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NpyError {}

fn err(detail: impl Into<String>) -> NpyError {
    NpyError(detail.into())
}

/// Shape and element type of a `.npy` file, from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    pub rows: usize,
    pub cols: usize,
    pub f64: bool,
    pub fortran_order: bool,
    pub data_offset: usize,
}

/// Parse the header of a `.npy` file (versions 1–3) from its first bytes.
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(err("missing the \\x93NUMPY magic"));
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(err(format!("unsupported version {v}"))),
    };
    let header = bytes
        .get(start..start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| err("truncated header"))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}':"))? + key.len() + 3;
        Some(header[at..].trim_start())
    };
    let descr = field("descr").ok_or_else(|| err("no 'descr' in header"))?;
    let f64 = if descr.starts_with("'<f8'") || descr.starts_with("'=f8'") {
        true
    } else if descr.starts_with("'<f4'") || descr.starts_with("'=f4'") {
        false
    } else {
        let shown: String = descr.chars().take_while(|&c| c != ',').collect();
        return Err(err(format!(
            "element type {shown}; expected little-endian float32 or float64"
        )));
    };
    let fortran_order = field("fortran_order")
        .ok_or_else(|| err("no 'fortran_order' in header"))?
        .starts_with("True");
    let shape = field("shape").ok_or_else(|| err("no 'shape' in header"))?;
    // "(rows, cols)": anything else (e.g. ")20, 2", found by fuzzing) is malformed.
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split_once(')'))
        .map(|(inner, _)| inner)
        .ok_or_else(|| err("malformed shape"))?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| err("malformed shape"))?;
    if dims.len() != 2 {
        return Err(err(format!(
            "shape {dims:?}; expected a 2-D matrix (rows × dimensions)"
        )));
    }
    if dims[0] == 0 || dims[1] == 0 {
        return Err(err(format!("empty matrix of shape {dims:?}")));
    }
    Ok(NpyHeader {
        rows: dims[0],
        cols: dims[1],
        f64,
        fortran_order,
        data_offset: start + len,
    })
}

/// Write a row-major f32 matrix as `.npy` (version 1).
pub fn npy_bytes(data: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_names_problems() {
        let bytes = npy_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
        let h = parse_header(&bytes).unwrap();
        assert_eq!(
            (h.rows, h.cols, h.f64, h.fortran_order),
            (3, 2, false, false)
        );
        assert_eq!(h.data_offset % 64, 0);
        assert_eq!(bytes.len(), h.data_offset + 6 * 4);
        assert!(
            parse_header(b"not numpy at all")
                .unwrap_err()
                .0
                .contains("magic")
        );
        assert!(
            parse_header(&bytes[..20])
                .unwrap_err()
                .0
                .contains("truncated")
        );
    }
}
