//! Integral floats as the TypeScript client writes them: @msgpack/msgpack encodes an integral JS
//! number as a msgpack int where Holochain's encoder writes float64. These helpers rewrite and count
//! the float64 values of an encoded value.

fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    assert!(input.len() >= n, "truncated msgpack");
    let (head, rest) = input.split_at(n);
    *input = rest;
    head
}

fn be_len(bytes: &[u8]) -> usize {
    bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
}

/// Walks one msgpack value from `input`, copying it to `out` with `float64` values passed
/// through `on_f64` (which writes their replacement), and returns how many float64 it met.
fn walk(input: &mut &[u8], out: &mut Vec<u8>, on_f64: &dyn Fn(f64, &mut Vec<u8>)) -> usize {
    use rmp::Marker as M;
    let byte = take(input, 1)[0];
    let marker = M::from_u8(byte);
    if marker == M::F64 {
        on_f64(f64::from_be_bytes(take(input, 8).try_into().unwrap()), out);
        return 1;
    }
    out.push(byte);
    let mut copy = |n: usize| out.extend_from_slice(take(input, n));
    let (len_width, children_per_item): (usize, usize) = match marker {
        M::FixMap(n) => return (0..2 * usize::from(n)).map(|_| walk(input, out, on_f64)).sum(),
        M::FixArray(n) => return (0..usize::from(n)).map(|_| walk(input, out, on_f64)).sum(),
        M::Map16 => (2, 2),
        M::Map32 => (4, 2),
        M::Array16 => (2, 1),
        M::Array32 => (4, 1),
        M::FixStr(n) => {
            copy(usize::from(n));
            return 0;
        }
        M::Str8 | M::Bin8 => (1, 0),
        M::Str16 | M::Bin16 => (2, 0),
        M::Str32 | M::Bin32 => (4, 0),
        M::Null | M::True | M::False | M::FixPos(_) | M::FixNeg(_) => return 0,
        M::U8 | M::I8 => {
            copy(1);
            return 0;
        }
        M::U16 | M::I16 => {
            copy(2);
            return 0;
        }
        M::U32 | M::I32 | M::F32 => {
            copy(4);
            return 0;
        }
        M::U64 | M::I64 => {
            copy(8);
            return 0;
        }
        other => panic!("msgpack marker {other:?} does not occur in these vectors"),
    };
    let len_bytes = take(input, len_width);
    out.extend_from_slice(len_bytes);
    let len = be_len(len_bytes);
    if children_per_item == 0 {
        out.extend_from_slice(take(input, len));
        0
    } else {
        (0..len * children_per_item).map(|_| walk(input, out, on_f64)).sum()
    }
}

/// Rewrites every float64 of one msgpack value that holds an integral value within
/// ±(2^53 − 1) as the smallest msgpack int, exactly as @msgpack/msgpack's `encode` writes a JS
/// number for which `Number.isSafeInteger` holds (positive fixint, uint8/16/32/64; negative
/// fixint, int8/16/32/64; -0 as 0). Everything else is copied unchanged.
pub fn integral_floats_as_ints(bytes: &[u8]) -> Vec<u8> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    let mut input = bytes;
    let mut out = Vec::with_capacity(bytes.len());
    walk(&mut input, &mut out, &|v, out| {
        if v.fract() == 0.0 && v.abs() <= MAX_SAFE {
            if v >= 0.0 {
                rmp::encode::write_uint(out, v as u64).unwrap();
            } else {
                rmp::encode::write_sint(out, v as i64).unwrap();
            }
        } else {
            rmp::encode::write_f64(out, v).unwrap();
        }
    });
    assert!(input.is_empty(), "trailing bytes after one msgpack value");
    out
}

/// How many float64 values one msgpack value holds.
pub fn count_float64(bytes: &[u8]) -> usize {
    let mut input = bytes;
    walk(&mut input, &mut Vec::new(), &|_, _| {})
}
