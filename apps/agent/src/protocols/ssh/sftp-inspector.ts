import { SshReader } from './ssh-wire.js';

/**
 * Watches an SFTP (v3, draft-ietf-secsh-filexfer-02) byte stream in both directions without changing
 * it, and reports file operations: which path, what was done, how many bytes moved, and the outcome.
 * Only the first bytes of each packet are kept (enough for the header and paths); file data is
 * counted, never buffered, so a 100 MiB upload costs no copy.
 */
export interface SftpOperation {
  op: string;
  path?: string;
  target?: string;
  bytesRead?: number;
  bytesWritten?: number;
  /** `ok`, or the SFTP status name of a failure (`permission denied` ...). */
  status: string;
}

const HEADER_KEEP = 8 * 1024;
/** Requests awaiting an answer that are tracked; more (a misbehaving client) are not recorded. */
const MAX_PENDING = 4096;
const MAX_OPEN_FILES = 1024;

const REQUEST_OPS: Record<number, string> = {
  3: 'open', 4: 'close', 5: 'read', 6: 'write', 9: 'setstat', 11: 'opendir', 13: 'remove', 14: 'mkdir', 15: 'rmdir', 18: 'rename', 20: 'symlink', 200: 'extended',
};
/** OpenSSH's extended requests that change files: OpenSSH's sftp renames with posix-rename. */
const EXTENDED_OPS: Record<string, string> = { 'posix-rename@openssh.com': 'rename', 'hardlink@openssh.com': 'link' };
const STATUS_NAMES = ['ok', 'eof', 'no such file', 'permission denied', 'failure', 'bad message', 'no connection', 'connection lost', 'unsupported'];
const FXF_WRITE = 0x02;

interface OpenFile {
  path: string;
  write: boolean;
  bytesRead: number;
  bytesWritten: number;
}

/** Cuts a byte stream into SFTP packets, handing over each packet's length and its first bytes. */
class PacketFramer {
  private lengthBytes = Buffer.alloc(0);
  private remaining = 0;
  private length = 0;
  private head: Buffer[] = [];
  private headSize = 0;

  constructor(private readonly onPacket: (length: number, head: Buffer) => void) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining === 0) {
        const need = 4 - this.lengthBytes.length;
        this.lengthBytes = Buffer.concat([this.lengthBytes, chunk.subarray(offset, offset + need)]);
        offset += Math.min(need, chunk.length - offset);
        if (this.lengthBytes.length < 4) return;
        this.length = this.lengthBytes.readUInt32BE(0);
        this.lengthBytes = Buffer.alloc(0);
        this.remaining = this.length;
        this.head = [];
        this.headSize = 0;
        if (this.length === 0) continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      const keep = Math.min(take, HEADER_KEEP - this.headSize);
      if (keep > 0) {
        this.head.push(chunk.subarray(offset, offset + keep));
        this.headSize += keep;
      }
      offset += take;
      this.remaining -= take;
      if (this.remaining === 0) this.onPacket(this.length, Buffer.concat(this.head));
    }
  }
}

export class SftpInspector {
  private readonly pending = new Map<number, { op: string; path?: string; target?: string; handle?: string }>();
  private readonly files = new Map<string, OpenFile>();
  private readonly fromClient = new PacketFramer((length, head) => this.onRequest(length, head));
  private readonly fromServer = new PacketFramer((length, head) => this.onResponse(length, head));
  private broken = false;

  constructor(private readonly report: (op: SftpOperation) => void) {}

  clientData(chunk: Buffer): void {
    if (!this.broken) this.fromClient.push(chunk);
  }

  serverData(chunk: Buffer): void {
    if (!this.broken) this.fromServer.push(chunk);
  }

  /** Files still open when the channel ends (a client that disconnected mid-transfer) are reported as such. */
  end(): void {
    for (const file of this.files.values()) {
      this.report({ op: file.write ? 'write' : 'read', path: file.path, bytesRead: file.bytesRead, bytesWritten: file.bytesWritten, status: 'interrupted' });
    }
    this.files.clear();
    this.pending.clear();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch {
      // Not SFTP as we know it: stop inspecting rather than guess (the bytes still flow unchanged).
      this.broken = true;
      this.report({ op: 'unparseable', status: 'the SFTP stream could not be followed; later operations are not recorded' });
    }
  }

  private onRequest(_length: number, head: Buffer): void {
    this.guard(() => {
      const r = new SshReader(head);
      const type = r.uint8();
      if (type === 1) return; // INIT
      const id = r.uint32();
      const op = REQUEST_OPS[type];
      if (!op || this.pending.size >= MAX_PENDING) return;
      switch (type) {
        case 3: {
          const path = r.text(4096);
          const flags = r.uint32();
          this.pending.set(id, { op: flags & FXF_WRITE ? 'open-write' : 'open-read', path });
          return;
        }
        case 4:
          this.pending.set(id, { op, handle: r.bytes(256).toString('hex') });
          return;
        case 5:
          this.pending.set(id, { op, handle: r.bytes(256).toString('hex') });
          return;
        case 6: {
          const handle = r.bytes(256).toString('hex');
          r.uint64();
          const size = r.uint32();
          const file = this.files.get(handle);
          if (file) file.bytesWritten += size;
          return;
        }
        case 200: {
          const extended = EXTENDED_OPS[r.text(256)];
          if (!extended) return; // statvfs, fsync, limits ...: reads, not changes
          const path = r.text(4096);
          this.pending.set(id, { op: extended, path, target: r.text(4096) });
          return;
        }
        case 18:
        case 20: {
          const path = r.text(4096);
          this.pending.set(id, { op, path, target: r.text(4096) });
          return;
        }
        default:
          this.pending.set(id, { op, path: r.text(4096) });
      }
    });
  }

  private onResponse(_length: number, head: Buffer): void {
    this.guard(() => {
      const r = new SshReader(head);
      const type = r.uint8();
      if (type === 2) return; // VERSION
      const id = r.uint32();
      const request = this.pending.get(id);
      if (!request) return;
      this.pending.delete(id);
      if (type === 103 && request.op === 'read') {
        const file = request.handle ? this.files.get(request.handle) : undefined;
        if (file) file.bytesRead += r.uint32();
        return;
      }
      if (type === 102 && request.op.startsWith('open-')) {
        const handle = r.bytes(256).toString('hex');
        if (this.files.size < MAX_OPEN_FILES) this.files.set(handle, { path: request.path ?? '', write: request.op === 'open-write', bytesRead: 0, bytesWritten: 0 });
        return;
      }
      const status = type === 101 ? (STATUS_NAMES[r.uint32()] ?? 'failure') : 'ok';
      if (request.op === 'read') return; // EOF or an error of one read: the file's summary says enough
      if (request.op === 'close') {
        const file = request.handle ? this.files.get(request.handle) : undefined;
        if (!file || !request.handle) return;
        this.files.delete(request.handle);
        this.report({ op: file.write ? 'write' : 'read', path: file.path, bytesRead: file.bytesRead, bytesWritten: file.bytesWritten, status });
        return;
      }
      if (request.op.startsWith('open-')) {
        this.report({ op: request.op === 'open-write' ? 'write' : 'read', path: request.path ?? '', bytesRead: 0, bytesWritten: 0, status });
        return;
      }
      this.report({ op: request.op, ...(request.path !== undefined ? { path: request.path } : {}), ...(request.target !== undefined ? { target: request.target } : {}), status });
    });
  }
}
