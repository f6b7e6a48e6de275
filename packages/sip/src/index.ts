export { CodedError, isCodedError, errorRecord, type ErrorRegistry } from './coded-error.js';
export { SIP_ERROR_CODES, SipError, isSipError, type SipErrorCode, type SipErrorSpec } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits, type SipLimits } from './limits.js';
export { canonicalHeaderName, writtenHeaderName, isListHeader } from './header-names.js';
export { splitList, unescape, unquote, quote, isToken, unfold } from './lexer.js';
export { formatParams, type Params } from './params.js';
export {
  parseUri,
  parseSipUri,
  formatUri,
  isSipUri,
  isIpv6Address,
  uriUser,
  uriHostname,
  type Uri,
  type SipUri,
  type OtherUri,
} from './uri.js';
export { uriEquals } from './uri-equality.js';
export { parseNameAddr, formatNameAddr, tagOf, type NameAddr } from './name-addr.js';
export { parseVia, formatVia, MAGIC_COOKIE, type Via } from './via.js';
export { parseCSeq, MAX_CSEQ, type CSeq } from './cseq.js';
export type { RoutingHeaders } from './eager-headers.js';
export { SipMessage, type HeaderField, type StartLine, type MessageLayout } from './message.js';
export { parseMessage, type ParseOptions } from './parser.js';
export { detachedString } from './detached-string.js';
export { detachedBuffer } from './detached-buffer.js';
export { StreamFramer, findContentLength, type FrameEvent, type FramerOptions } from './framer.js';
export { validateRequest, validateResponse, type ValidateOptions } from './validate.js';
export { buildResponse, buildResponseWithin, rejectionResponse, reasonPhrase, newTag, REASON_PHRASES, type RejectionOptions, type ResponseOptions } from './response.js';
export { buildCancel, buildAckForFailure } from './request-builders.js';
export {
  DIGEST_ALGORITHMS,
  DIGEST_HEX_LENGTH,
  digestAlgorithm,
  digestHash,
  digestHa1,
  digestResponse,
  parseAuthValues,
  parseDigestChallenges,
  parseDigestCredentials,
  formatDigestChallenge,
  formatDigestCredentials,
  answerDigestChallenge,
  type DigestAlgorithm,
  type DigestChallenge,
  type DigestCredentials,
  type DigestResponseInput,
  type AuthValue,
} from './digest.js';
