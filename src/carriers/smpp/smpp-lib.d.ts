/**
 * The slice of node-smpp 0.5.1 (CommonJS, no bundled types) that xinge uses: the PDU
 * class as an encoder, and the definition tables (commands, TLVs, field types, status
 * codes) that our own strict decoder walks. Its Session is deliberately not typed here:
 * it has no request window, no response timeout and no enquire_link check (see
 * session.ts), so nothing should use it.
 */
declare module 'smpp' {
  export interface SmppFieldType {
    read(buffer: Buffer, offset: number, length?: number): unknown;
    write(value: unknown, buffer: Buffer, offset: number): void;
    size(value: unknown): number;
    default: unknown;
  }
  export interface SmppParamDef {
    type: SmppFieldType;
    default?: unknown;
    filter?: unknown;
  }
  export interface SmppCommandDef {
    id: number;
    command: string;
    params?: Record<string, SmppParamDef>;
    tlvMap?: Record<string, string>;
  }
  export interface SmppTlvDef {
    id: number;
    tag: string;
    type: SmppFieldType;
    multiple?: boolean;
    filter?: unknown;
  }
  export class PDU {
    constructor(command: string, options?: Record<string, unknown>);
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    toBuffer(): Buffer;
    static fromBuffer(buffer: Buffer): PDU | false;
    static maxLength: number;
    [field: string]: unknown;
  }
  export interface SmppLib {
    PDU: typeof PDU;
    commands: Record<string, SmppCommandDef>;
    commandsById: Record<number, SmppCommandDef>;
    tlvs: Record<string, SmppTlvDef>;
    tlvsById: Record<number, SmppTlvDef>;
    errors: Record<string, number>;
    types: Record<string, SmppFieldType> & { tlv: Record<string, SmppFieldType> };
    /** GSM 03.38 default alphabet, unpacked septets (shift table by national language id, 0 = none). */
    gsmCoder: { encode(text: string, table?: number): Buffer; decode(septets: Buffer, table?: number): string };
  }
  const smpp: SmppLib;
  export default smpp;
}
