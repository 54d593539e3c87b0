/**
 * The generator's notification e-mails: every interaction of interactions.csv also arrives as the
 * network's notice (mail/notices.mbox), in three templates (HTML-only quoted-printable,
 * multipart text + HTML in base64, an older plain-text one with profile/view?id= links), with
 * tracking-wrapped links and the recipient's own link and photo in the header and footer, as
 * real notices have them. Beside them: lookalikes (a typosquatted sender, a foreign DKIM domain
 * with a Reply-To elsewhere, a link to an unrelated host) and one digest that is no notice at all.
 * MIME is composed by nodemailer's MailComposer.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import MailComposer from 'nodemailer/lib/mail-composer';
import { Rng } from '../ml/random.ts';

export interface NoticeSpec {
  ts: number;
  kind: 'connect_request' | 'connect_accept' | 'message' | 'view';
  profile: { profile_id: string; profile_name: string; profile_title: string };
  person: { user: string; name: string; email: string; title: string; index: number };
}

export interface MailSummary {
  mbox: string;
  messages: number;
  genuine: number;
  lookalikes: { message_id: string; why: string }[];
  unrecognised: string[];
}

const NETWORK = 'social.example';
const WEB = `https://${NETWORK}`;
const MEDIA = 'https://media.social.example/img';

const SUBJECTS: Record<NoticeSpec['kind'], ((name: string) => string)[]> = {
  connect_request: [(n) => `${n} wants to connect`, (n) => `Invitation to connect from ${n}`],
  connect_accept: [(n) => `${n} accepted your invitation`],
  message: [(n) => `${n} sent you a message`, (n) => `New message from ${n}`],
  view: [(n) => `${n} viewed your profile`],
};
const ACTION: Record<NoticeSpec['kind'], string> = {
  connect_request: 'would like to join your network.',
  connect_accept: 'accepted your invitation. Start a conversation.',
  message: 'Hi, I came across your profile and have an opportunity I think you would like. Are you open to a quick chat?',
  view: 'viewed your profile in the last day.',
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const slugOf = (person: NoticeSpec['person']) => `${person.user}-${1000 + person.index}`;

function htmlBody(spec: NoticeSpec, n: number): string {
  const { profile: p, person } = spec;
  const me = slugOf(person);
  const sender = `${WEB}/in/${p.profile_id}`;
  return `<!DOCTYPE html><html><body><table>
<tr><td><a href="${WEB}/comm/in/${me}?midToken=AQ${n}&amp;trk=eml-header-profile"><img src="${MEDIA}/${me}.jpg" alt="${escapeHtml(person.name)}" width="32"></a></td></tr>
<tr><td><a href="${WEB}/redir?url=${encodeURIComponent(sender)}&amp;trk=eml-sender-photo"><img src="${MEDIA}/${p.profile_id}.jpg" alt="${escapeHtml(p.profile_name)}" width="72"></a></td></tr>
<tr><td><a href="${WEB}/comm/in/${p.profile_id}?midToken=AQ${n}&amp;trk=eml-sender-name">${escapeHtml(p.profile_name)}</a></td></tr>
<tr><td>${escapeHtml(p.profile_title)}</td></tr>
<tr><td>${escapeHtml(ACTION[spec.kind])}</td></tr>
<tr><td><a href="${WEB}/comm/mynetwork?trk=eml-cta">Open</a> · <a href="${WEB}/comm/psettings/email?trk=eml-unsub">Unsubscribe</a></td></tr>
<tr><td>This email was intended for <a href="${WEB}/comm/in/${me}?trk=eml-footer">${escapeHtml(person.name)}</a> (${escapeHtml(person.title)})</td></tr>
</table></body></html>`;
}

function textBody(spec: NoticeSpec, oldLinks: boolean): string {
  const { profile: p, person } = spec;
  const link = oldLinks ? `${WEB}/profile/view?id=${p.profile_id}&trk=eml-old` : `${WEB}/comm/in/${p.profile_id}?trk=eml-txt`;
  const mine = oldLinks ? `${WEB}/profile/view?id=${slugOf(person)}` : `${WEB}/comm/in/${slugOf(person)}`;
  return [
    p.profile_name,
    p.profile_title,
    ACTION[spec.kind],
    '',
    `View profile: ${link}`,
    `Photo: ${MEDIA}/${p.profile_id}.jpg`,
    '',
    '-----',
    `This email was intended for ${person.name} (${person.title})`,
    `Your profile: ${mine}`,
    '',
  ].join('\n');
}

type Mail = NonNullable<ConstructorParameters<typeof MailComposer>[0]>;

function notice(spec: NoticeSpec, n: number): Mail {
  const style = n % 3;
  const subject = SUBJECTS[spec.kind][n % SUBJECTS[spec.kind].length](spec.profile.profile_name);
  const base: Mail = {
    from: { name: 'Social Example', address: spec.kind === 'message' ? `messages-noreply@${NETWORK}` : `invitations@${NETWORK}` },
    to: spec.person.email,
    subject,
    date: new Date(Math.floor(spec.ts / 1000) * 1000),
    messageId: `<notice-${n}@${NETWORK}>`,
    headers: {
      'Delivered-To': spec.person.email,
      'DKIM-Signature': `v=1; a=rsa-sha256; c=relaxed/relaxed; d=${NETWORK}; s=s2048; h=from:to:subject:date; bh=${n}; b=${n}`,
    },
  };
  if (style === 0) return { ...base, html: htmlBody(spec, n), textEncoding: 'quoted-printable' };
  if (style === 1) return { ...base, text: textBody(spec, false), html: htmlBody(spec, n), textEncoding: 'base64' };
  return { ...base, text: textBody(spec, true), textEncoding: 'quoted-printable' };
}

function lookalike(spec: NoticeSpec, n: number, variant: number): { mail: Mail; why: string } {
  const real = notice(spec, n);
  const id = `<notice-${n}@${NETWORK}>`;
  if (variant === 0) {
    const html = String(real.html ?? htmlBody(spec, n)).replaceAll(WEB, 'https://social-examp1e.com');
    return {
      why: 'typosquatted sender and links',
      mail: {
        ...real,
        from: { name: 'Social Example', address: 'invitations@social-examp1e.com' },
        html,
        text: undefined,
        messageId: id,
        headers: { 'Delivered-To': spec.person.email, 'DKIM-Signature': 'v=1; d=social-examp1e.com; s=k1; b=x' },
      },
    };
  }
  if (variant === 1) {
    return {
      why: 'foreign DKIM domain and Reply-To elsewhere',
      mail: {
        ...real,
        replyTo: 'talent.partner.hr@gmail.com',
        messageId: id,
        headers: { 'Delivered-To': spec.person.email, 'DKIM-Signature': 'v=1; d=bulk-mailer.example; s=k1; b=x' },
      },
    };
  }
  const html = htmlBody(spec, n).replace(`${WEB}/comm/mynetwork?trk=eml-cta`, 'https://social.example.account-verify.net/login');
  return { why: 'link to an unrelated host', mail: { ...real, html, text: undefined, textEncoding: 'quoted-printable', messageId: id } };
}

/** mboxrd: a body line starting "From " (or ">From ") gets one more ">". */
function mboxEntry(message: Buffer, from: string, date: Date): string {
  const body = message
    .toString('utf8')
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((l) => (/^>*From /.test(l) ? `>${l}` : l))
    .join('\n');
  return `From ${from} ${date.toUTCString().replace(',', '')}\n${body}\n\n`;
}

export async function writeNotices(out: string, seed: number, specs: readonly NoticeSpec[]): Promise<MailSummary> {
  const dir = join(out, 'mail');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'notices.mbox');
  const stream = createWriteStream(path);
  const write = async (text: string) => {
    if (!stream.write(text)) await once(stream, 'drain');
  };
  const rng = new Rng(seed ^ 0x3a11);
  const summary: MailSummary = { mbox: path, messages: 0, genuine: 0, lookalikes: [], unrecognised: [] };
  let n = 0;
  for (const spec of specs) {
    const mail = notice(spec, ++n);
    await write(
      mboxEntry(
        await new MailComposer(mail).compile().build(),
        spec.kind === 'message' ? `messages-noreply@${NETWORK}` : `invitations@${NETWORK}`,
        mail.date as Date,
      ),
    );
    summary.genuine++;
    // About one in a hundred notices has a lookalike sent beside it, to the same person.
    if (rng.chance(0.01) || summary.lookalikes.length < 3) {
      const fake = lookalike({ ...spec, ts: spec.ts + 60_000 }, ++n, summary.lookalikes.length % 3);
      await write(mboxEntry(await new MailComposer(fake.mail).compile().build(), 'phish@example.net', fake.mail.date as Date));
      summary.lookalikes.push({ message_id: String(fake.mail.messageId), why: fake.why });
    }
  }
  // A digest from the network that is no notice: reported as unrecognised, never an interaction.
  if (specs.length > 0) {
    const first = specs[0];
    const digest: Mail = {
      from: { name: 'Social Example', address: `digest@${NETWORK}` },
      to: first.person.email,
      subject: 'Your weekly network digest',
      date: new Date(Math.floor(first.ts / 1000) * 1000),
      messageId: `<digest-1@${NETWORK}>`,
      text: 'From the people you follow this week...\n',
      headers: { 'DKIM-Signature': `v=1; d=${NETWORK}; s=s2048; b=x` },
    };
    await write(mboxEntry(await new MailComposer(digest).compile().build(), `digest@${NETWORK}`, digest.date as Date));
    summary.unrecognised.push(String(digest.messageId));
  }
  stream.end();
  await once(stream, 'finish');
  summary.messages = summary.genuine + summary.lookalikes.length + summary.unrecognised.length;
  return summary;
}
