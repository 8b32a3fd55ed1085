/*  =========================================================================
    error - the one list of CertChain error codes

    Every function of libcertchain that can fail on outside input returns 0 or
    a negative code from this list; the same numbers travel on the wire as
    Error.code (positive there). Each code has a short stable name (for logs,
    JSON and tests) and a sentence for humans. A cc_reason_t carries the code
    plus a specific message ("genesis: field 'chain.id' is missing") where the
    caller wants to tell an operator exactly what was wrong.

    Codes are never renumbered or reused: add new ones at the end of a group.
    =========================================================================
*/

#ifndef CC_ERROR_H_INCLUDED
#define CC_ERROR_H_INCLUDED

#include <stddef.h>

//  X (NAME, number, "message"): the code is -number, the wire code is number.
#define CC_ERROR_LIST(X)                                                          \
    /* General */                                                                 \
    X (NOMEM, 1, "out of memory")                                                 \
    X (INVALID_ARG, 2, "invalid argument")                                        \
    X (IO, 3, "input/output error")                                               \
    X (MALFORMED, 4, "malformed message")                                         \
    X (OVERSIZE, 5, "message too large")                                          \
    X (PERMISSIONS, 6, "file permissions too open")                               \
    X (NOT_FOUND, 7, "not found")                                                 \
    X (EXISTS, 8, "already exists")                                               \
    X (STORE, 9, "storage error")                                                 \
    X (CONFIG, 10, "invalid configuration")                                       \
    X (TIMEOUT, 11, "timed out")                                                  \
    X (UNSUPPORTED, 12, "unsupported request")                                    \
    X (INTERNAL, 13, "internal error")                                            \
    X (BAD_FIELD, 14, "field has the wrong size or value")                        \
    X (BUSY, 15, "busy, try again later")                                         \
    /* Transactions and state */                                                  \
    X (BAD_SIGNATURE, 20, "bad signature")                                        \
    X (WRONG_CHAIN, 21, "wrong chain id")                                         \
    X (NONCE_REPLAY, 22, "nonce already used (replay)")                           \
    X (NONCE_GAP, 23, "nonce gap: nonce must be the signer's last nonce + 1")     \
    X (INSUFFICIENT_BALANCE, 24, "insufficient balance")                          \
    X (AMOUNT_OVERFLOW, 25, "amount overflows")                                   \
    X (NOT_CA, 26, "signer is not a certification authority")                     \
    X (INVALID_EVIDENCE, 27, "invalid double-signing evidence")                   \
    X (SELF_EVIDENCE, 28, "evidence submitted by the accused node itself")        \
    X (UNKNOWN_NODE, 29, "unknown node")                                          \
    X (BANNED, 30, "node is banned")                                              \
    X (ALREADY_ACTIVE, 31, "node is already an active validator")                 \
    X (NOT_ACTIVE, 32, "node is not an active validator")                         \
    X (CERT_EXPIRED, 33, "certificate validity already over")                     \
    X (VALSET_FULL, 34, "validator set is full")                                  \
    X (ZERO_AMOUNT, 35, "transfer amount is zero")                                \
    X (DUPLICATE, 36, "duplicate")                                                \
    X (MEMPOOL_FULL, 37, "mempool is full")                                       \
    X (ALREADY_PUNISHED, 38, "offender already punished")                         \
    X (NO_PAYLOAD, 39, "transaction has no payload")                              \
    X (REVOKED, 40, "certificate revoked by a CA")                                \
    /* Block verdicts: why a syncing node discards a block */                     \
    X (UNAUTHORIZED_PROPOSER, 50, "unauthorized proposer")                        \
    X (NOT_SCHEDULED, 51, "proposer not scheduled for this height and round")     \
    X (BAD_PROPOSER_SIG, 52, "bad proposer signature")                            \
    X (COMMIT_BELOW_QUORUM, 53, "commit below quorum")                            \
    X (COMMIT_NON_MEMBER, 54, "commit signature from a non-member")               \
    X (COMMIT_BAD_SIG, 55, "commit carries a bad signature")                      \
    X (COMMIT_MISMATCH, 56, "commit is for another block, height or round")       \
    X (TX_ROOT_MISMATCH, 57, "transactions do not match the header (tampered)")   \
    X (WRONG_PARENT, 58, "wrong parent hash")                                     \
    X (WRONG_APP_HASH, 59, "wrong app hash after re-execution")                   \
    X (WRONG_HEIGHT, 60, "wrong height")                                          \
    X (BAD_TX, 61, "block holds a transaction that does not apply")               \
    X (BLOCK_LIMITS, 62, "block exceeds the size limits")                         \
    X (WRONG_VALSET_HASH, 63, "wrong validator-set hash")                         \
    X (BAD_LAST_COMMIT, 64, "invalid last commit")                                \
    X (BAD_TIME, 65, "block time before its parent's")                            \
    X (CONFLICT, 66, "another block is already committed at this height")         \
    /* Consensus */                                                               \
    X (DOUBLE_SIGN, 70, "refused to sign a conflicting message")                  \
    X (NOT_MEMBER, 71, "sender is not in the validator set")                      \
    X (STALE, 72, "message for a past height")                                    \
    /* Join protocol */                                                           \
    X (DEADLINE_MISSED, 80, "challenge deadline missed")                          \
    X (POW_INVALID, 81, "proof of work wrong")                                    \
    X (ARGON2_MISMATCH, 82, "Argon2 sample mismatch")                             \
    X (CHALLENGE_REPLAYED, 83, "challenge already answered")                      \
    X (CHALLENGE_EXPIRED, 84, "challenge expired")                                \
    X (WRONG_NODE_KEY, 85, "answer bound to another node key")                    \
    X (CHALLENGE_UNKNOWN, 86, "unknown challenge")                                \
    X (PROFILE_BELOW_POLICY, 87, "machine profile below policy")                  \
    X (RATE_LIMITED, 88, "rate limited")                                          \
    X (WRONG_ANSWER_COUNT, 89, "wrong number of answers")                         \
    X (SCORE_BELOW_POLICY, 90, "measured score below policy")

typedef enum {
    CC_OK = 0,
#define CC_ERROR_ENUM(name, number, text) CC_E_##name = -(number),
    CC_ERROR_LIST (CC_ERROR_ENUM)
#undef CC_ERROR_ENUM
} cc_error_t;

//  A code with a specific, human-readable explanation.
typedef struct {
    int code;           //  0 or a negative cc_error_t
    char text [240];    //  specific message; empty when none was given
} cc_reason_t;

//  Short stable name of a code, e.g. "NONCE_GAP"; "OK" for 0, "UNKNOWN" else.
const char *
    cc_error_name (int code);

//  Sentence describing a code.
const char *
    cc_error_message (int code);

//  Code for a stable name, or 0 if the name is unknown.
int
    cc_error_from_name (const char *name);

//  Fills reason (if not NULL) with code and a printf-style message, and
//  returns code, so a caller can write: return cc_reason_set (r, CODE, ...).
int
    cc_reason_set (cc_reason_t *reason, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Resets a reason to OK with no text.
void
    cc_reason_clear (cc_reason_t *reason);

//  The reason's text if it has one, else the code's message.
const char *
    cc_reason_text (const cc_reason_t *reason);

#endif
