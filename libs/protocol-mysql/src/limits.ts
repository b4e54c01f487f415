/** The largest payload of one physical packet: a payload this long continues in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xff_ff_ff;

/** Hard limits on inbound bytes; a header announcing more is refused before its body is buffered. */
export interface MysqlLimits {
  /** A logical packet (the parts of a split packet joined). MySQL's own max_allowed_packet tops out at 1 GiB. */
  readonly maxLogicalPacket: number;
  /** Columns of one result set (MySQL allows 4096 per table; a join can return more). */
  readonly maxColumns: number;
  /** Placeholders of one prepared statement (the wire count is 16 bits). */
  readonly maxParams: number;
}

export const DEFAULT_MYSQL_LIMITS: MysqlLimits = Object.freeze({
  maxLogicalPacket: 64 * 1024 * 1024,
  maxColumns: 16_384,
  maxParams: 65_535,
});
