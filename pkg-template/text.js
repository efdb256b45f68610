// The text codecs the shell uses, for the CommonJS entry only: the platform's where it
// has them, else a small UTF-8 codec. Jest's jsdom environment, which loads packages through
// require(), has neither TextDecoder nor TextEncoder; browsers, which load index.js, always do.
export const Decoder = typeof TextDecoder === "function" ? TextDecoder : class {
  /** Rust hands over valid UTF-8 only. */
  decode(bytes = new Uint8Array(0)) {
    let text = "";
    for (let i = 0; i < bytes.length; ) {
      let c = bytes[i++];
      if (c > 0x7f) {
        const more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
        c &= 0x3f >> more;
        for (let k = 0; k < more; k++) c = (c << 6) | (bytes[i++] & 0x3f);
      }
      text += String.fromCodePoint(c);
    }
    return text;
  }
};

export const Encoder = typeof TextEncoder === "function" ? TextEncoder : class {
  /** As TextEncoder: a lone surrogate becomes U+FFFD. */
  encode(text = "") {
    const out = [];
    for (const ch of text) {
      let c = ch.codePointAt(0);
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  }

  /** As TextEncoder's: as much of `text` as fits in `into` (the shell makes room for all of it). */
  encodeInto(text, into) {
    const bytes = this.encode(text);
    into.set(bytes.subarray(0, into.length));
    return { read: text.length, written: Math.min(bytes.length, into.length) };
  }
};
