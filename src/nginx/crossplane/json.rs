//! The two JSON values the streamed payload writes by hand, byte for byte
//! as serde_json's compact writer would: strings and unsigned numbers.

/// What each byte becomes inside a JSON string: 0 for itself, else the
/// letter after the backslash (`u` for `\u00XX`). serde_json's table.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `"text"`, escaped.
pub fn string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most words need no escape: skip eight bytes at a time to the first
    // that might.
    let clean = clean_prefix(bytes);
    if clean == bytes.len() {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.extend_from_slice(bytes.get(..clean).unwrap_or_default());
    let mut plain_from = clean;
    for (i, &b) in bytes.iter().enumerate().skip(clean) {
        let escape = ESCAPE[usize::from(b)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(bytes.get(plain_from..i).unwrap_or_default());
        plain_from = i + 1;
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
    }
    out.extend_from_slice(bytes.get(plain_from..).unwrap_or_default());
    out.push(b'"');
}

/// The length of a prefix with no control character, `"` or `\\`, found
/// eight bytes at a time (the classic "has a byte less than" and "has a zero
/// byte" bit tricks: exact, never a false negative); a short last chunk is
/// padded with a plain letter.
fn clean_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGHS;
    let clean = |word: [u8; 8]| {
        let x = u64::from_le_bytes(word);
        below(x, 0x20)
            | below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1)
            == 0
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut length = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if !clean(word) {
            return length;
        }
        length += 8;
    }
    let tail = chunks.remainder();
    let mut word = [b'a'; 8];
    if let Some(start) = word.get_mut(..tail.len()) {
        start.copy_from_slice(tail);
    }
    if clean(word) { bytes.len() } else { length }
}

/// A number in decimal.
pub fn number(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        // `n % 10` is below 10.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde(value: &impl serde::Serialize) -> Vec<u8> {
        serde_json::to_vec(value).unwrap_or_default()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut every_char = String::new();
        for c in (0u32..0x200).chain([0x2028, 0x2029, 0xfeff, 0x1f600]) {
            every_char.extend(char::from_u32(c));
        }
        let long = "0123456789abcdef\"ghijklmnopqrstuv\\wxyz\u{1}ABCDEFGH\u{1f}IJKLMNOP \u{7f}é";
        let mut shifted = Vec::new();
        for start in 0..long.len() {
            shifted.extend(long.get(start..));
        }
        for text in [
            "",
            "plain",
            "a\"b\\c",
            "\u{7f}\u{0}\t\r\n\u{1f}",
            &every_char,
        ]
        .into_iter()
        .chain(shifted)
        {
            let mut out = Vec::new();
            string(&mut out, text);
            assert_eq!(out, serde(&text), "{text:?}");
        }
    }

    #[test]
    fn numbers_are_decimal() {
        for n in [0, 1, 9, 10, 99, 100, 4_294_967_295, usize::MAX] {
            let mut out = Vec::new();
            number(&mut out, n);
            assert_eq!(out, serde(&n));
        }
    }
}
