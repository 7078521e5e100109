// The file layer of the queue: an on-disk FIFO of opaque records (each holds one Chunk's bytes and
// its sample count, see prompb/chunk.ts), durable across restarts and kill -9. Same idea as
// VictoriaMetrics's lib/persistentqueue: append-only segment files plus a persisted read position;
// fully read segments are deleted, and a queue read to its end starts a new empty segment, so a
// drained queue holds no bytes. What goes to disk and when is ./shard-queue.ts's concern (as
// fastqueue.go over persistentqueue.go); the bound on the bytes on disk, shared by the shards of a
// writer, is ./budget.ts; the folder's lock is ./lock.ts.
//
// Layout of `dir`:
//   NNNNNNNNNNNNNNNN.seg   segments, 16-digit zero-padded increasing sequence numbers; records
//                          are appended to the newest one, which rolls over past segmentBytes
//   reader.json            {"segment": seq, "offset": bytes}: where the oldest unacked record is,
//                          replaced atomically (tmp + rename); it may lag (records re-sent), it
//                          never runs ahead of what was acked
//   LOCK                   pid of the owning process (./lock.ts)
//
// Record framing (13-byte header, little endian):
//   u8 magic/version | u32 payload length | u32 samples | u32 CRC-32 of (length, samples, payload)
//   then the payload.
//
// Recovery: sealed segments are walked header by header (cheap); the newest segment, the only one
// a crash can tear, is CRC-checked in full and truncated at the first bad record. A CRC mismatch
// met later while reading skips the rest of that segment. Nothing here throws on a full queue:
// the oldest segments (of the whole budget) are dropped and counted instead, and a write that the
// file system refuses as full (ENOSPC, EDQUOT: a full node disk) is handled the same way.

import { Buffer } from 'node:buffer';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { errnoCode, errorMessage } from '../errno.js';
import { DiskBudget, type BudgetMember, type Lane } from './budget.js';
import { acquireLock, releaseLock, type LockOwner } from './lock.js';

export interface DiskQueueOptions {
  dir: string;
  /**
   * Bound on the bytes of this queue's files on disk, for a queue of its own; the oldest segments
   * are dropped to stay under it. Ignored with `budget`.
   */
  maxBytes?: number;
  /** A bound shared with other queues (the shards of one writer), see ./budget.ts. */
  budget?: DiskBudget;
  /** Roll to a new segment file past this many bytes; default 1/16 of the budget, at most 32 MiB. */
  segmentBytes?: number;
  /** Called after records were dropped to respect maxBytes (exceptions are ignored). */
  onDrop?: (records: number, samples: number, bytes: number) => void;
  /** How long `open` waits for another live process to release the folder's lock (default 0). */
  lockWaitMs?: number;
  /** Called once when `open` starts waiting for the lock, with its owner. */
  onLockWait?: (owner: LockOwner) => void;
  /** Another process took this folder's lock while this one held it (see ./lock.ts). */
  onLockLost?: (owner: LockOwner) => void;
}

const MAGIC = 0xa7; // format version 1
const HEADER = 13;
/** Largest payload accepted; a larger length in a header means corruption. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
const SYNC_INTERVAL_MS = 1000;
const READER_PERSIST_MS = 100;
const READER_PERSIST_ACKS = 256;
const SCAN_WINDOW = 64 * 1024;
const SEGMENT_RE = /^(\d{16})\.seg$/;
const READER_FILE = 'reader.json';

// CRC-32 (IEEE) from node:zlib (Node >= 20.15, see package.json engines).
const crc32 = (data: Uint8Array, prev = 0): number => zlib.crc32(data, prev);

interface Header {
  len: number;
  samples: number;
  crc: number;
}

function parseHeader(b: Buffer): Header | undefined {
  if (b.length < HEADER || b[0] !== MAGIC) return undefined;
  const len = b.readUInt32LE(1);
  if (len > MAX_RECORD_BYTES) return undefined;
  return { len, samples: b.readUInt32LE(5), crc: b.readUInt32LE(9) };
}

/** CRC of the length and samples fields (header bytes 1..8) followed by the payload. */
function recordCrc(header: Buffer, payload: Uint8Array): number {
  return crc32(payload, crc32(header.subarray(1, 9)));
}

// ---------------------------------------------------------------------------------------------
// Small file helpers

/** The file system refused a write as full (a full disk, or a quota). */
export function isFileSystemFull(e: unknown): boolean {
  const code = errnoCode(e);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** An Error naming the queue and the operation, keeping the errno code (ENOSPC, EACCES, ...). */
function diskError(op: string, dir: string, e: unknown): Error {
  const err: Error & { code?: string } = new Error(`diskqueue ${dir}: ${op} failed: ${errorMessage(e)}`, {
    cause: e,
  });
  const code = errnoCode(e);
  if (code) err.code = code;
  return err;
}

/** Reads until `buf` is full or EOF; returns the number of bytes read. */
async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function writeFully(fh: FileHandle, parts: Buffer[], position: number): Promise<void> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  let done = 0;
  while (done < total) {
    // the parts not yet (fully) written
    const rest: Buffer[] = [];
    let skip = done;
    for (const p of parts) {
      if (skip >= p.length) {
        skip -= p.length;
        continue;
      }
      rest.push(skip > 0 ? p.subarray(skip) : p);
      skip = 0;
    }
    const { bytesWritten } = await fh.writev(rest, position + done);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

/** Makes created, renamed and deleted names durable; best effort (not every platform can). */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // ignore
  } finally {
    await fh?.close().catch(() => {});
  }
}

async function unlinkQuiet(file: string): Promise<void> {
  await fsp.unlink(file).catch(() => {});
}

/** Sequential reads through a 64 KiB window: header walks touch the disk once per window. */
class ScanReader {
  private buf = Buffer.allocUnsafe(SCAN_WINDOW);
  private start = 0;
  private len = 0;
  constructor(private readonly fh: FileHandle) {}

  /** Exactly n bytes at pos, or undefined past EOF. Valid until the next call. */
  async read(pos: number, n: number): Promise<Buffer | undefined> {
    if (pos >= this.start && pos + n <= this.start + this.len) {
      return this.buf.subarray(pos - this.start, pos - this.start + n);
    }
    if (n > this.buf.length) {
      const b = Buffer.allocUnsafe(n);
      return (await readFully(this.fh, b, pos)) === n ? b : undefined;
    }
    this.start = pos;
    this.len = await readFully(this.fh, this.buf, pos);
    return n <= this.len ? this.buf.subarray(0, n) : undefined;
  }
}

interface ScanResult {
  /** Offset just past the last good record. */
  end: number;
  records: number;
  samples: number;
}

/** Walks records from `start`; stops at EOF or at the first bad one (bad header, record running
 * past the file end, or, with verifyCrc, a CRC mismatch). */
async function scanSegment(
  fh: FileHandle,
  size: number,
  start: number,
  verifyCrc: boolean,
): Promise<ScanResult> {
  const r = new ScanReader(fh);
  let off = start;
  let records = 0;
  let samples = 0;
  while (size - off >= HEADER) {
    const h = await r.read(off, HEADER);
    const hdr = h && parseHeader(h);
    if (!h || !hdr || off + HEADER + hdr.len > size) break;
    if (verifyCrc) {
      const headCrc = crc32(h.subarray(1, 9)); // before the next read reuses the window
      const payload = hdr.len > 0 ? await r.read(off + HEADER, hdr.len) : Buffer.alloc(0);
      if (!payload || crc32(payload, headCrc) !== hdr.crc) break;
    }
    records++;
    samples += hdr.samples;
    off += HEADER + hdr.len;
  }
  return { end: off, records, samples };
}

/** The record boundary at or before `target`, walking headers from the segment start. A reader
 * offset off a boundary (hand edits, bugs) is moved back: re-sending beats skipping. */
async function alignToRecord(fh: FileHandle, size: number, target: number): Promise<number> {
  const r = new ScanReader(fh);
  let off = 0;
  while (off < target) {
    const h = size - off >= HEADER ? await r.read(off, HEADER) : undefined;
    const hdr = h && parseHeader(h);
    if (!hdr) return target; // damaged before the read position: that part was consumed anyway
    const next = off + HEADER + hdr.len;
    if (next > target) return off;
    off = next;
  }
  return off;
}

// ---------------------------------------------------------------------------------------------

interface Segment {
  seq: number;
  /** When its first record was written (ms; the file's mtime after a restart); 0 while empty. */
  born: number;
  /** Readable limit: just past the last good record. For the writer segment, the append offset. */
  end: number;
  /** Unread records/samples in the segment (from the read offset for the first one). */
  records: number;
  samples: number;
}

/** Where a record starts: its segment and byte offset. */
export interface RecordPosition {
  seq: number;
  offset: number;
}

interface Peeked {
  seq: number;
  offset: number;
  next: number;
  body: Buffer;
  samples: number;
}

interface DropTally {
  records: number;
  samples: number;
  bytes: number;
}

export class DiskQueue implements BudgetMember {
  private readonly dir: string;
  private readonly budget: DiskBudget;
  private readonly lane: Lane;
  private readonly fixedSegmentBytes: number | undefined;
  private readonly onDrop: DiskQueueOptions['onDrop'];

  /** Oldest first; never empty; the last one is being appended to. */
  private segs: Segment[] = [];
  /** Read position inside segs[0]. */
  private readOffset = 0;
  private writer: FileHandle | undefined;
  private writerDirty = false;
  /** Set when a failed append could not be undone: the next append starts a new segment. */
  private writerNeedsRoll = false;
  private reader: { seq: number; fh: FileHandle } | undefined;
  private peeked: Peeked | undefined;

  private closing = false;
  private closed: Promise<void> | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private persistTimer: NodeJS.Timeout | undefined;
  private readerDirty = false;
  private pendingAcks = 0;
  private lastPersist = 0;

  /** Samples of a record dropped by the bound while it was in flight (see doDropOldestSegment). */
  private droppedInFlight: number | undefined;
  private _droppedRecords = 0;
  private _droppedSamples = 0;
  private _droppedBytes = 0;
  private _corruptRecords = 0;

  private constructor(dir: string, opts: DiskQueueOptions) {
    this.dir = dir;
    this.budget = opts.budget ?? new DiskBudget(opts.maxBytes ?? 0);
    this.lane = this.budget.lane;
    this.fixedSegmentBytes = opts.segmentBytes;
    this.onDrop = opts.onDrop;
  }

  /** Creates `dir` if needed, takes its lock, and recovers whatever a previous run left. */
  static async open(opts: DiskQueueOptions): Promise<DiskQueue> {
    if (!opts || typeof opts.dir !== 'string' || opts.dir === '')
      throw new Error('diskqueue: dir is required');
    if (!opts.budget && !(Number.isFinite(opts.maxBytes) && (opts.maxBytes ?? 0) > 0)) {
      throw new Error(`diskqueue: maxBytes must be a positive number, got ${opts.maxBytes}`);
    }
    if (opts.segmentBytes !== undefined && !(Number.isFinite(opts.segmentBytes) && opts.segmentBytes > 0)) {
      throw new Error(`diskqueue: segmentBytes must be a positive number, got ${opts.segmentBytes}`);
    }
    const dir = path.resolve(opts.dir);
    try {
      await fsp.mkdir(dir, { recursive: true });
    } catch (e) {
      throw diskError('creating the directory', dir, e);
    }
    await acquireLock(dir, { waitMs: opts.lockWaitMs, onWait: opts.onLockWait, onLost: opts.onLockLost });
    const q = new DiskQueue(dir, opts);
    try {
      await q.recover();
    } catch (e) {
      await q.writer?.close().catch(() => {});
      await releaseLock(dir);
      throw diskError('recovery', dir, e);
    }
    q.budget.add(q);
    return q;
  }

  private get segmentBytes(): number {
    return this.fixedSegmentBytes ?? this.budget.segmentBytes;
  }

  /** Bytes of the segment files on disk: what the budget bounds (read parts not yet reclaimed too). */
  get fileBytes(): number {
    let n = 0;
    for (const s of this.segs) n += s.end;
    return n;
  }

  get oldestBorn(): number | undefined {
    const first = this.segs[0];
    if (first === undefined || this.closing) return undefined;
    if (this.segs.length === 1 && first.end === 0) return undefined;
    return first.born || Date.now();
  }

  /** Unread bytes, record headers included. */
  get bytes(): number {
    let n = -this.readOffset;
    for (const s of this.segs) n += s.end;
    return n;
  }
  get records(): number {
    let n = 0;
    for (const s of this.segs) n += s.records;
    return n;
  }
  get samples(): number {
    let n = 0;
    for (const s of this.segs) n += s.samples;
    return n;
  }
  /** Records dropped to respect the bound (including records larger than the bound itself). */
  get droppedRecords(): number {
    return this._droppedRecords;
  }
  get droppedSamples(): number {
    return this._droppedSamples;
  }
  get droppedBytes(): number {
    return this._droppedBytes;
  }
  /** Records lost to corruption: torn tails, CRC mismatches and what was skipped after them. */
  get corruptRecords(): number {
    return this._corruptRecords;
  }

  /** Appends one record. Written to the file before resolving; fsynced within a second and when
   * its segment is closed. Never throws because the queue is full (drops oldest); throws an
   * Error with the errno `code` on disk errors, leaving the queue as it was. Resolves with where
   * the record starts (for `ackAt`), or undefined when it was too large to keep (dropped). */
  append(body: Buffer, samples: number): Promise<RecordPosition | undefined> {
    if (!(body instanceof Uint8Array))
      return Promise.reject(new TypeError('diskqueue: body must be a Buffer'));
    if (!Number.isInteger(samples) || samples < 0 || samples > 0xffffffff) {
      return Promise.reject(new RangeError(`diskqueue: samples must be a uint32, got ${samples}`));
    }
    if (body.length > MAX_RECORD_BYTES) {
      return Promise.reject(
        new RangeError(`diskqueue: record of ${body.length} bytes exceeds the ${MAX_RECORD_BYTES} limit`),
      );
    }
    const u8: Uint8Array = body;
    const buf = Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.length);
    return this.run(() => this.doAppend(buf, samples));
  }

  /** The oldest record, not removed. Repeated peeks return the same record until ack. */
  peek(): Promise<{ body: Buffer; samples: number } | undefined> {
    return this.run(() => this.doPeek());
  }

  /** Removes the record last returned by peek. A no-op if there was none, or if it was dropped
   * (maxBytes) since it was peeked. */
  ack(): Promise<void> {
    return this.run(() => this.doAck());
  }

  /**
   * Removes the oldest record if it is the one appended at `pos`; a no-op (false) if that record is
   * gone (dropped to respect maxBytes, or corrupt). For a record acknowledged without a peek.
   */
  ackAt(pos: RecordPosition): Promise<boolean> {
    return this.run(async () => {
      if (!(await this.doPeek())) return false;
      const p = this.peeked!;
      if (p.seq !== pos.seq || p.offset !== pos.offset) return false;
      await this.doAck();
      return true;
    });
  }

  /** Persists the read position, fsyncs, closes files, releases the lock. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closing = true;
      const p = this.lane.chain.then(() => this.shutdown());
      this.lane.chain = p.then(
        () => {},
        () => {},
      );
      this.closed = p;
    }
    return this.closed;
  }

  // -------------------------------------------------------------------------------------------

  private run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error(`diskqueue ${this.dir}: closed`));
    const p = this.lane.chain.then(fn);
    this.lane.chain = p.then(
      () => {},
      () => {},
    );
    return p;
  }

  private segPath(seq: number): string {
    return path.join(this.dir, `${String(seq).padStart(16, '0')}.seg`);
  }

  private get writerSeg(): Segment {
    return this.segs[this.segs.length - 1];
  }

  private async recover(): Promise<void> {
    const names = await fsp.readdir(this.dir);
    const seqs = names
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    await unlinkQuiet(path.join(this.dir, `${READER_FILE}.tmp`));

    const pos = await this.loadReadPosition();
    let readOffset = 0;
    if (pos) {
      // segments before the read position were consumed; a crash may have left them behind
      while (seqs.length > 0 && seqs[0] < pos.seq) await unlinkQuiet(this.segPath(seqs.shift()!));
      if (seqs.length > 0 && seqs[0] === pos.seq) readOffset = pos.offset;
    }
    if (seqs.length === 0) {
      const seq = (pos?.seq ?? 0) + 1;
      await fsp.writeFile(this.segPath(seq), '', { flag: 'wx' });
      await syncDir(this.dir);
      seqs.push(seq);
    }

    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i];
      const last = i === seqs.length - 1;
      const fh = await fsp.open(this.segPath(seq), last ? 'r+' : 'r');
      try {
        const st = await fh.stat();
        const size = st.size;
        let start = 0;
        if (i === 0 && readOffset > 0) start = await alignToRecord(fh, size, Math.min(readOffset, size));
        // Only the newest segment can be torn by a crash (older ones were fsynced when sealed):
        // check it fully, walk the others header by header and verify their CRCs when read.
        const res = await scanSegment(fh, size, start, last);
        if (res.end < size) {
          this._corruptRecords++;
          if (last) {
            await fh.truncate(res.end);
            await fh.sync();
          }
        }
        this.segs.push({
          seq,
          born: res.end > 0 ? st.mtimeMs : 0,
          end: res.end,
          records: res.records,
          samples: res.samples,
        });
        if (i === 0) {
          if (start !== readOffset) this.readerDirty = true;
          this.readOffset = start;
        }
        if (last) this.writer = fh;
      } catch (e) {
        await fh.close().catch(() => {});
        throw e;
      }
      if (!last) await fh.close();
    }
    if (!pos || pos.seq !== this.segs[0].seq) this.readerDirty = true;
    const only = this.segs.length === 1 ? this.segs[0] : undefined;
    if (only && only.records === 0 && only.end > 0) {
      // read to its end by the previous run: reclaim the space now, and say so in reader.json
      // before anything is appended (a stale offset into new records would skip them)
      await this.writer!.truncate(0);
      only.end = 0;
      only.born = 0;
      this.readOffset = 0;
      this.readerDirty = true;
      await this.persistReader(true);
    }
  }

  private async loadReadPosition(): Promise<{ seq: number; offset: number } | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.dir, READER_FILE), 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const v = JSON.parse(text) as { segment?: unknown; offset?: unknown };
      if (
        Number.isSafeInteger(v.segment) &&
        Number.isSafeInteger(v.offset) &&
        (v.segment as number) >= 0 &&
        (v.offset as number) >= 0
      ) {
        return { seq: v.segment as number, offset: v.offset as number };
      }
    } catch {
      // unreadable: start from the oldest segment (re-send rather than skip)
    }
    return undefined;
  }

  private async doAppend(body: Buffer, samples: number): Promise<RecordPosition | undefined> {
    const need = HEADER + body.length;
    const drop: DropTally = { records: 0, samples: 0, bytes: 0 };
    try {
      if (need > this.budget.maxBytes) {
        // can never fit: this record is the one dropped
        drop.records = 1;
        drop.samples = samples;
        drop.bytes = need;
        return undefined;
      }
      try {
        await this.budget.makeRoom(need);
      } catch (e) {
        throw diskError('dropping old records', this.dir, e);
      }
      const header = Buffer.allocUnsafe(HEADER);
      header[0] = MAGIC;
      header.writeUInt32LE(body.length, 1);
      header.writeUInt32LE(samples, 5);
      header.writeUInt32LE(recordCrc(header, body), 9);
      let full = 0; // ENOSPC retries: each must free bytes, and there are at most 64
      for (;;) {
        let w = this.writerSeg;
        if (this.writerNeedsRoll || (w.end > 0 && w.end + need > this.segmentBytes)) {
          try {
            await this.roll();
          } catch (e) {
            throw diskError('starting a new segment', this.dir, e);
          }
          w = this.writerSeg;
        }
        const at = w.end;
        try {
          await writeFully(this.writer!, [header, body], at);
        } catch (e) {
          // Cut off whatever part was written. Even if that fails, `end` hides it from readers and
          // the next append starts a new segment; recovery treats it as a torn tail.
          try {
            await this.writer!.truncate(at);
          } catch {
            this.writerNeedsRoll = true;
          }
          // The file system is full (a full node disk, a quota): as for the bound, the oldest go
          // first; only when nothing is left to drop does this record fail.
          if (isFileSystemFull(e) && ++full <= 64 && (await this.budget.dropOldest().catch(() => -1)) > 0)
            continue;
          throw diskError('append', this.dir, e);
        }
        if (w.born === 0) w.born = Date.now();
        w.end = at + need;
        w.records++;
        w.samples += samples;
        this.writerDirty = true;
        this.scheduleSync();
        return { seq: w.seq, offset: at };
      }
    } finally {
      if (drop.records > 0 || drop.bytes > 0) this.reportDrop(drop);
    }
  }

  /** Deletes the oldest segment (sealing the one being written first when it is the only one),
   * its unread records counted as dropped. Returns the bytes freed. Runs on the lane: called from
   * inside another queue's append (the budget), so not through run(). */
  async dropOldestSegment(): Promise<number> {
    if (this.segs.length === 1) {
      if (this.writerSeg.end === 0) return 0;
      await this.roll();
    }
    const first = this.segs[0];
    const freed = first.end;
    const drop: DropTally = {
      records: first.records,
      samples: first.samples,
      bytes: Math.max(0, first.end - this.readOffset),
    };
    // The record in flight (peeked, being sent) is not counted yet: if its send succeeds it was
    // delivered; if the writer peeks again instead, it was lost, and counted then (doPeek).
    const p = this.peeked;
    if (p && p.seq === first.seq && drop.records > 0) {
      drop.records--;
      drop.samples -= p.samples;
      drop.bytes -= p.next - p.offset;
      this.droppedInFlight = p.samples;
    }
    first.records = 0;
    first.samples = 0;
    await this.removeFirstSegment();
    if (drop.records > 0) this.reportDrop(drop);
    return freed;
  }

  private reportDrop(drop: DropTally): void {
    this._droppedRecords += drop.records;
    this._droppedSamples += drop.samples;
    this._droppedBytes += drop.bytes;
    try {
      this.onDrop?.(drop.records, drop.samples, drop.bytes);
    } catch {
      // the callback's problem
    }
  }

  private async doPeek(): Promise<{ body: Buffer; samples: number } | undefined> {
    if (this.droppedInFlight !== undefined) {
      // peeked again without an ack: the record dropped while in flight was not delivered
      this.reportDrop({ records: 1, samples: this.droppedInFlight, bytes: 0 });
      this.droppedInFlight = undefined;
    }
    for (;;) {
      const first = this.segs[0];
      const p = this.peeked;
      if (p && p.seq === first.seq && p.offset === this.readOffset)
        return { body: p.body, samples: p.samples };
      if (this.readOffset >= first.end) {
        if (this.segs.length === 1) return undefined;
        await this.removeFirstSegment();
        continue;
      }
      const fh = await this.readHandle(first);
      if (!fh) {
        await this.skipCorruptSegment(); // file vanished
        continue;
      }
      const header = Buffer.allocUnsafe(HEADER);
      const got = await readFully(fh, header, this.readOffset);
      const hdr = got === HEADER ? parseHeader(header) : undefined;
      if (!hdr || this.readOffset + HEADER + hdr.len > first.end) {
        await this.skipCorruptSegment();
        continue;
      }
      const body = Buffer.allocUnsafe(hdr.len);
      if (
        (await readFully(fh, body, this.readOffset + HEADER)) !== hdr.len ||
        recordCrc(header, body) !== hdr.crc
      ) {
        await this.skipCorruptSegment();
        continue;
      }
      this.peeked = {
        seq: first.seq,
        offset: this.readOffset,
        next: this.readOffset + HEADER + hdr.len,
        body,
        samples: hdr.samples,
      };
      return { body, samples: hdr.samples };
    }
  }

  private async doAck(): Promise<void> {
    const p = this.peeked;
    this.peeked = undefined;
    this.droppedInFlight = undefined; // the record dropped while in flight was delivered after all
    const first = this.segs[0];
    if (!p || p.seq !== first.seq || p.offset !== this.readOffset) return;
    this.readOffset = p.next;
    first.records--;
    first.samples -= p.samples;
    if (this.readOffset >= first.end) {
      if (this.segs.length > 1) await this.removeFirstSegment();
      else if (first.end > 0) {
        // read to its end: start an empty segment and delete this one, so a drained queue holds no
        // bytes (it happens once per backlog, when an outage's replay is done)
        try {
          await this.roll();
          await this.removeFirstSegment();
        } catch {
          // the space stays used until the next roll; the ack itself stands
        }
      }
    }
    this.readerDirty = true;
    this.pendingAcks++;
    if (this.pendingAcks >= READER_PERSIST_ACKS || Date.now() - this.lastPersist >= READER_PERSIST_MS) {
      await this.persistReader(false).catch(() => {}); // a stale position only means re-sends
    } else {
      this.schedulePersist();
    }
  }

  private async readHandle(seg: Segment): Promise<FileHandle | undefined> {
    if (seg === this.writerSeg) return this.writer;
    if (this.reader?.seq === seg.seq) return this.reader.fh;
    await this.closeReader();
    try {
      this.reader = { seq: seg.seq, fh: await fsp.open(this.segPath(seg.seq), 'r') };
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
    return this.reader.fh;
  }

  private async closeReader(): Promise<void> {
    const r = this.reader;
    this.reader = undefined;
    await r?.fh.close().catch(() => {});
  }

  /** The record at the read position is unreadable: give up the rest of its segment. */
  private async skipCorruptSegment(): Promise<void> {
    if (this.segs.length === 1) await this.roll(); // seal the segment being written first
    const first = this.segs[0];
    this._corruptRecords += Math.max(1, first.records);
    first.records = 0;
    first.samples = 0;
    await this.removeFirstSegment();
  }

  /** Deletes segs[0] (fully read, dropped or corrupt); the reader moves to the next segment. */
  private async removeFirstSegment(): Promise<void> {
    const s = this.segs.shift()!;
    if (this.reader?.seq === s.seq) await this.closeReader();
    this.readOffset = 0;
    await unlinkQuiet(this.segPath(s.seq));
    this.readerMoved();
  }

  private readerMoved(): void {
    this.peeked = undefined;
    this.readerDirty = true;
    this.schedulePersist();
  }

  /** Seals the segment being written (fsync) and starts the next one. */
  private async roll(): Promise<void> {
    const old = this.writer!;
    if (this.writerDirty) {
      await old.sync();
      this.writerDirty = false;
    }
    const seq = this.writerSeg.seq + 1;
    const fh = await fsp.open(this.segPath(seq), 'wx+');
    await syncDir(this.dir);
    this.writer = fh;
    this.writerNeedsRoll = false;
    this.segs.push({ seq, born: 0, end: 0, records: 0, samples: 0 });
    await old.close().catch(() => {});
  }

  private scheduleSync(): void {
    if (this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.run(async () => {
        if (!this.writerDirty) return;
        await this.writer!.sync();
        this.writerDirty = false;
      }).catch(() => {});
    }, SYNC_INTERVAL_MS);
    this.syncTimer.unref();
  }

  private schedulePersist(): void {
    if (this.persistTimer) return;
    const wait = Math.max(0, READER_PERSIST_MS - (Date.now() - this.lastPersist));
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      this.run(() => this.persistReader(false)).catch(() => {});
    }, wait);
    this.persistTimer.unref();
  }

  /** Writes reader.json atomically: temp file, then rename over the old one. */
  private async persistReader(durable: boolean): Promise<void> {
    if (!this.readerDirty) return;
    const file = path.join(this.dir, READER_FILE);
    const tmp = `${file}.tmp`;
    const text = `${JSON.stringify({ segment: this.segs[0].seq, offset: this.readOffset })}\n`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(text);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    if (durable) await syncDir(this.dir);
    this.readerDirty = false;
    this.pendingAcks = 0;
    this.lastPersist = Date.now();
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.syncTimer);
    clearTimeout(this.persistTimer);
    this.syncTimer = this.persistTimer = undefined;
    const errors: unknown[] = [];
    try {
      this.readerDirty = true;
      await this.persistReader(true);
    } catch (e) {
      errors.push(e);
    }
    try {
      if (this.writerDirty) await this.writer!.sync();
      this.writerDirty = false;
    } catch (e) {
      errors.push(e);
    }
    await this.writer!.close().catch((e: unknown) => errors.push(e));
    await this.closeReader();
    // A closed queue stays in its budget: its files are still on disk (the next start's backlog),
    // and the other shards persisting at shutdown must count them. It is never a victim.
    await releaseLock(this.dir);
    if (errors.length > 0) throw diskError('close', this.dir, errors[0]);
  }
}
