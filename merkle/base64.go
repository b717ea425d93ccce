package merkle

import "encoding/binary"

// decodeBase64 decodes src into dst when src is the canonical standard
// base64 of len(dst) bytes: padded, with zero unused bits, as
// base64.StdEncoding writes it; it reports false for any other text. A
// bundle's salts and proof hashes are such fixed-width values, millions of
// them, where encoding/base64's general decoder costs several times as much.
// The tests hold it to base64.StdEncoding.Strict().
func decodeBase64(dst, src []byte) bool {
	n := len(dst)
	if len(src) != (n+2)/3*4 {
		return false
	}
	// Where the processor can, all full groups of four characters (up to
	// sixteen) at once; the last, which may be padded, below.
	if q := n / 3; useVBMI && q >= 2 && q <= 16 {
		if !decodeQuads(&dst[0], &src[0], 4*q) {
			return false
		}
		dst, src = dst[3*q:], src[4*q:]
	}
	// Eight characters at a time, six bytes written as eight: the next
	// round or the groups below overwrite the two extra. Padding comes only
	// in the last four characters, which this leaves.
	var bad byte
	for len(dst) >= 8 {
		s := src[:8]
		a, b, c, d := b64Values[s[0]], b64Values[s[1]], b64Values[s[2]], b64Values[s[3]]
		e, f, g, h := b64Values[s[4]], b64Values[s[5]], b64Values[s[6]], b64Values[s[7]]
		bad |= a | b | c | d | e | f | g | h
		v := uint64(a)<<58 | uint64(b)<<52 | uint64(c)<<46 | uint64(d)<<40 |
			uint64(e)<<34 | uint64(f)<<28 | uint64(g)<<22 | uint64(h)<<16
		binary.BigEndian.PutUint64(dst, v)
		dst, src = dst[6:], src[8:]
	}
	if bad&0xc0 != 0 {
		return false
	}
	for len(dst) >= 3 {
		a, b, c, d := b64Values[src[0]], b64Values[src[1]], b64Values[src[2]], b64Values[src[3]]
		if (a|b|c|d)&0xc0 != 0 {
			return false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[0], dst[1], dst[2] = byte(v>>16), byte(v>>8), byte(v)
		dst, src = dst[3:], src[4:]
	}
	switch len(dst) {
	case 1: // two characters, the second's low 4 bits unused, then "=="
		a, b := b64Values[src[0]], b64Values[src[1]]
		if (a|b)&0xc0 != 0 || b&0x0f != 0 || src[2] != '=' || src[3] != '=' {
			return false
		}
		dst[0] = a<<2 | b>>4
	case 2: // three characters, the third's low 2 bits unused, then "="
		a, b, c := b64Values[src[0]], b64Values[src[1]], b64Values[src[2]]
		if (a|b|c)&0xc0 != 0 || c&0x03 != 0 || src[3] != '=' {
			return false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6
		dst[0], dst[1] = byte(v>>16), byte(v>>8)
	}
	return true
}

// b64Values maps each character of the standard base64 alphabet to its
// value, and every other byte to 0xff.
var b64Values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = byte(i)
	}
	return t
}()
