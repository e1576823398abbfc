//! `application/x-www-form-urlencoded` as vendors.md §10.6 has it (`A–Z
//! a–z 0–9 * - . _` kept, space as `+`, every other byte `%XX`
//! uppercase), which is exactly `form_urlencoded`'s serializer. The OAuth
//! token requests and the form vendors' bodies and signatures all go
//! through here.

/// Appends `value` form-encoded.
pub fn encode_into(out: &mut String, value: &str) {
    out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
}

/// A whole form body of `pairs`, in order.
pub fn body(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Appends `&name=value` (no `&` on an empty body), the value form-encoded.
pub fn append_pair(body: &mut Vec<u8>, name: &str, value: &str) {
    if !body.is_empty() {
        body.push(b'&');
    }
    let mut pair = String::with_capacity(name.len() + value.len() + 1);
    encode_into(&mut pair, name);
    pair.push('=');
    encode_into(&mut pair, value);
    body.extend_from_slice(pair.as_bytes());
}

/// The body's pairs in order, names and values decoded (values as bytes:
/// they are signed as they are). `None` when a pair has no `=`.
pub fn pairs(body: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    if body.is_empty() {
        return Some(Vec::new());
    }
    body.split(|&b| b == b'&')
        .map(|pair| {
            let eq = pair.iter().position(|&b| b == b'=')?;
            let name = String::from_utf8(decode(&pair[..eq])).ok()?;
            Some((name, decode(&pair[eq + 1..])))
        })
        .collect()
}

/// The decoded value of the first field `name` in a form body.
pub fn field(body: &[u8], name: &str) -> Option<Vec<u8>> {
    pairs(body)?
        .into_iter()
        .find_map(|(n, v)| (n == name).then_some(v))
}

/// One value decoded, as bytes: `+` is a space, `%XX` a byte (a `%`
/// without two hex digits stays as it is, as `form_urlencoded` reads it).
fn decode(value: &[u8]) -> Vec<u8> {
    let plus_as_space: Vec<u8> = value
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&plus_as_space).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_unreserved_set_only_and_decodes_back() {
        assert_eq!(
            body(&[
                ("grant_type", "client_credentials"),
                ("client_secret", "a b+c/=&é~*")
            ]),
            "grant_type=client_credentials&client_secret=a+b%2Bc%2F%3D%26%C3%A9%7E*"
        );
        let mut s = String::new();
        encode_into(&mut s, "a b&c=d/é*-._~");
        assert_eq!(s, "a+b%26c%3Dd%2F%C3%A9*-._%7E");
        let mut body = b"x=1".to_vec();
        append_pair(&mut body, "sign", "a+b");
        assert_eq!(body, b"x=1&sign=a%2Bb");
        assert_eq!(
            pairs(&body).unwrap(),
            vec![
                ("x".into(), b"1".to_vec()),
                ("sign".into(), b"a+b".to_vec())
            ]
        );
        assert_eq!(field(&body, "sign").unwrap(), b"a+b");
        assert_eq!(
            field(b"t=a+b%26c%3Dd%2F%C3%A9", "t").unwrap(),
            "a b&c=d/é".as_bytes()
        );
        assert_eq!(pairs(b"novalue"), None);
    }
}
