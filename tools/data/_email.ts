// A small RFC 822 / MIME reader for the SpamAssassin emails: headers, multipart bodies, base64 and
// quoted-printable, RFC 2047 encoded subjects, HTML reduced to its text. Enough for features, not a mail client.

export interface Email {
  subject: string;
  /** The readable body: text/plain parts, else text/html parts reduced to text. */
  body: string;
  /** Every decoded text part as sent (HTML kept), where links are counted. */
  raw: string;
  html: boolean;
}

type Headers = Map<string, string>;

function splitMessage(message: string): { headers: Headers; body: string } {
  const m = /\r?\n\r?\n/.exec(message);
  const head = m ? message.slice(0, m.index) : message;
  const body = m ? message.slice(m.index + m[0].length) : '';
  const headers: Headers = new Map();
  let last = '';
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && last) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
    else last = '';
  }
  return { headers, body };
}

function param(value: string, name: string): string | undefined {
  const m = new RegExp(`${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(value);
  return m ? (m[1] ?? m[2]) : undefined;
}

function decodeQuotedPrintable(s: string): string {
  const bytes = s.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function decodeBody(body: string, encoding: string | undefined): string {
  const enc = (encoding ?? '').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

/** `=?charset?B?...?=` and `=?charset?Q?...?=` words of a header. */
function decodeWords(s: string): string {
  return s.replace(/=\?[^?]+\?([BbQq])\?([^?]*)\?=/g, (_, kind: string, text: string) =>
    kind.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeQuotedPrintable(text.replace(/_/g, ' ')),
  );
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** The text a browser would show, roughly: no style/script/comments, tags become spaces, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(style|script)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<br\s*\/?>|<\/p\s*>|<\/div\s*>|<\/tr\s*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n+/g, '\n');
}

interface Part {
  type: string;
  text: string;
}

function leafParts(headers: Headers, body: string, depth: number): Part[] {
  const contentType = headers.get('content-type') ?? 'text/plain';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  const boundary = param(contentType, 'boundary');
  if (type.startsWith('multipart/') && boundary && depth < 8) {
    const chunks = body.split(`--${boundary}`).slice(1);
    const parts: Part[] = [];
    for (const chunk of chunks) {
      if (chunk.startsWith('--')) break; // the closing delimiter
      const sub = splitMessage(chunk.replace(/^\r?\n/, ''));
      parts.push(...leafParts(sub.headers, sub.body, depth + 1));
    }
    return parts;
  }
  if (type === 'message/rfc822' && depth < 8) {
    const inner = splitMessage(body);
    return leafParts(inner.headers, inner.body, depth + 1);
  }
  if (type !== 'text/plain' && type !== 'text/html') return []; // attachments, images
  return [{ type, text: decodeBody(body, headers.get('content-transfer-encoding')) }];
}

/** Subject, readable body and decoded text parts of one raw email. */
export function parseEmail(message: string): Email {
  const { headers, body } = splitMessage(message);
  const parts = leafParts(headers, body, 0);
  const plain = parts.filter((p) => p.type === 'text/plain');
  const html = parts.filter((p) => p.type === 'text/html');
  const readable = plain.length > 0 ? plain.map((p) => p.text).join('\n') : html.map((p) => htmlToText(p.text)).join('\n');
  return {
    subject: decodeWords(headers.get('subject') ?? '').trim(),
    body: readable.trim(),
    raw: parts.map((p) => p.text).join('\n'),
    html: html.length > 0,
  };
}
