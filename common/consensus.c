/*  =========================================================================
    consensus - Tendermint consensus for one validator, as a pure state machine

    The upon-rules of Algorithm 1 are written one function each, named after
    the paper's line numbers (the arXiv version): s_rule_proposal (lines 22
    and 28), s_rule_prevote_any (34), s_rule_lock (36), s_rule_prevote_nil
    (44), s_rule_precommit_any (47), s_rule_decide (49), s_rule_skip (55);
    StartRound is s_start_round and the three OnTimeout functions live in
    cc_consensus_timeout. After every input s_process runs the rules until
    none fires: each firing moves the state strictly forward (a step, a
    round, a "first time" flag, the decision), so the loop ends.

    DESIGN
    valid(v) is the caller's answer to a VALIDATE output, so it may not be
    known yet when a rule looks at it: a rule whose outcome depends on it
    waits (a proposal pending validation is not acted on; timeoutPropose
    still fires as usual). Where the outcome does not depend on it (locked
    on another value: prevote nil either way) the rule fires at once. The
    machine's own value (getValue) is valid by definition.

    The message log of the paper is the per-round vote slots and the
    proposals of each round's proposer. A slot holds a member's first vote
    of a type in a round and, bounded, its different later ones: those are
    evidence, and still count for their values, as in the paper, where a
    Byzantine sender's two votes each count. This matters for liveness:
    a node that locked with an equivocator's vote relays it, and the others
    must be able to count it even if they got the equivocator's other vote
    first. Own messages enter the log as they are signed. A signature
    already stored at this height is recognised by its bytes (the "seen"
    table) and answered as a duplicate before any verification, which makes
    the rebroadcasts of gossip cheap.

    The f+1 skip and OnTimeoutPrecommit may move the machine to a round
    on messages (an equivocator's) that others never got; rebroadcast
    therefore relays what moved it, as the paper's gossip would.
    =========================================================================
*/

#include "consensus.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

//  Largest signed body (Vote, Proposal): a few fixed-size fields.
#define S_MAX_BODY 512
//  Room left in one message for everything but the block.
#define S_ENVELOPE_ROOM 4096

//  --- Internal records --------------------------------------------------------

typedef enum {
    S_UNKNOWN = 0,              //  VALIDATE sent, no answer yet
    S_VALID,
    S_INVALID
} s_validity_t;

typedef struct {
    bool has_hash;                  //  false: a vote for nil
    uint8_t hash [CC_HASH_SIZE];    //  the value id voted for
    Certchain__Signed envelope;     //  the signed vote, owned
} s_ballot_t;

//  One member's votes of one type in one round: the first, and distinct
//  later ones (an equivocator's) for nil or a value seen in a proposal.
typedef struct {
    size_t count;                   //  ballots in use; 0: no vote yet
    s_ballot_t ballots [CC_CONSENSUS_VOTES_PER_MEMBER];
} s_vote_t;

typedef struct {
    Certchain__Signed envelope;     //  the signed proposal, owned
    uint8_t hash [CC_HASH_SIZE];    //  the value id proposed
    int32_t valid_round;            //  the proposer's validRound, -1 none
} s_proposal_t;

typedef struct {
    uint32_t number;                //  the round
    s_vote_t *prevotes;             //  one slot per member, valset order
    s_vote_t *precommits;           //  one slot per member
    uint8_t *evidence_sent;         //  per member: 1 prevote, 2 precommit
    s_proposal_t proposals [CC_CONSENSUS_PROPOSALS_PER_ROUND];
    size_t proposal_count;          //  proposals in use
    bool prevote_timeout_started;   //  line 34 fired (first time)
    bool lock_rule_fired;           //  line 36 fired (first time)
    bool precommit_timeout_started; //  line 47 fired (first time)
} s_round_t;

//  How the current round was entered, which tells what to relay.
typedef enum {
    S_BY_START = 0,             //  start of the height
    S_BY_TIMEOUT,               //  OnTimeoutPrecommit: 2f+1 precommits of round - 1
    S_BY_SKIP                   //  line 55: f+1 members in this round
} s_entry_t;

typedef struct {
    uint8_t hash [CC_HASH_SIZE];    //  the value id
    uint8_t *bytes;                 //  the value, owned
    size_t size;                    //  bytes in the value
    s_validity_t validity;          //  the caller's answer so far
} s_value_t;

typedef struct {
    uint64_t height;                //  the message's height
    uint8_t signer [CC_PUBKEY_SIZE];    //  who signed it
    uint8_t *data;                  //  the serialized ConsensusMessage, owned
    size_t size;                    //  bytes in data
} s_future_t;

typedef struct {
    uint32_t round;                 //  round it was signed for
    bool is_proposal;               //  a proposal (else a vote)
    uint8_t *data;                  //  the serialized ConsensusMessage, owned
    size_t size;                    //  bytes in data
} s_own_t;

//  An output and its link in the queue; the caller sees only .output.
typedef struct _s_output_node_t {
    cc_consensus_output_t output;   //  first member: the caller's pointer
    struct _s_output_node_t *next;  //  next in the queue
} s_output_node_t;

struct _cc_consensus_t {
    //  Configuration
    char chain_id [CC_CHAIN_ID_MAX + 1];    //  signatures are for this chain
    cc_keypair_t *key;                  //  borrowed; NULL for an observer
    cc_consensus_timeouts_t timeouts;   //  base and per-round growth
    cc_consensus_build_fn *build;       //  getValue(), or NULL
    void *build_arg;                    //  its argument
    cc_consensus_value_id_fn *value_id; //  id(v)
    void *value_id_arg;                 //  its argument
    cc_consensus_verify_fn *verify;     //  signature check
    void *verify_arg;                   //  its argument
    size_t max_value_size;              //  largest block in a proposal

    //  Double-sign protection
    cc_consensus_signed_t last;         //  last signed, as persisted
    uint64_t refused_signs;             //  refusals, ever
    bool refused_now;                   //  a refusal during the current input

    //  The paper's variables for the current height
    uint64_t height;                    //  h_p; 0 before the first start
    uint32_t round;                     //  round_p
    s_entry_t entered_by;               //  how round_p was entered
    cc_consensus_step_t step;           //  step_p (or DECIDED)
    int32_t locked_round;               //  lockedRound_p
    uint8_t locked_hash [CC_HASH_SIZE]; //  id(lockedValue_p)
    int32_t valid_round;                //  validRound_p
    uint8_t valid_hash [CC_HASH_SIZE];  //  id(validValue_p), bytes in values
    uint32_t decided_round;             //  when DECIDED: the deciding round
    uint8_t decided_hash [CC_HASH_SIZE];    //  when DECIDED: the value id

    //  The validator set of the current height
    cc_valset_t *valset;                //  V(h_p), owned copy
    size_t members;                     //  n
    size_t quorum;                      //  2f+1
    size_t weak_quorum;                 //  f+1
    int my_index;                       //  own index in V(h_p), -1 if none

    //  The message log of the current height
    s_round_t **rounds;                 //  stored rounds, any order
    size_t round_count;                 //  rounds in use
    size_t round_capacity;              //  rounds allocated
    s_value_t **values;                 //  values seen in proposals
    size_t value_count;                 //  values in use
    size_t value_capacity;              //  values allocated
    int64_t *max_round;                 //  per member: highest round seen, -1
    Certchain__Signed **seen;           //  stored envelopes, by signature
    size_t seen_count;                  //  entries in use
    size_t seen_capacity;               //  slots (a power of two, or 0)
    s_own_t *own;                       //  own signed messages, in order
    size_t own_count;                   //  own messages in use
    size_t own_capacity;                //  own messages allocated

    //  Messages for the next two heights
    s_future_t *future;                 //  buffered, in arrival order
    size_t future_count;                //  entries in use
    size_t future_capacity;             //  entries allocated
    size_t future_bytes;                //  bytes held
    uint64_t highest_seen;              //  highest height seen from a member

    //  Outputs, oldest first
    s_output_node_t *head;              //  next to hand out
    s_output_node_t *tail;              //  last queued
    uint64_t evidence_count;            //  EVIDENCE outputs, ever
    uint64_t decided_count;             //  DECIDE outputs, ever
};

static void s_start_round (cc_consensus_t *self, uint32_t round, s_entry_t entered_by);
static int s_receive (cc_consensus_t *self, const uint8_t *data, size_t size);

//  --- Small helpers -----------------------------------------------------------

static bool
s_default_verify (void *arg, const uint8_t *pubkey, cc_domain_t domain, const char *chain_id,
                  const uint8_t *data, size_t size, const uint8_t *signature)
{
    return cc_verify (pubkey, domain, chain_id, data, size, signature);
}

//  id(v) of a CertChain block: the hash of its header bytes.
static int
s_block_id (void *arg, const uint8_t *bytes, size_t size, uint8_t *id_out)
{
    int code = 0;
    ProtobufCMessage *message = cc_codec_unpack (&certchain__block__descriptor, bytes, size,
                                                 CC_MAX_MESSAGE_SIZE, &code);
    if (!message)
        return CC_E_MALFORMED;
    Certchain__Block *block = (Certchain__Block *) message;
    int rc = 0;
    if (block->header.len == 0)
        rc = CC_E_MALFORMED;
    else
        cc_hash (block->header.data, block->header.len, id_out);
    cc_codec_free (&message);
    return rc;
}

static uint8_t *
s_memdup (const uint8_t *data, size_t size)
{
    uint8_t *copy = (uint8_t *) malloc (size ? size : 1);
    if (copy && size)
        memcpy (copy, data, size);
    return copy;
}

//  timeoutX(r) = X + r * delta, saturating.
static uint32_t
s_timeout_ms (cc_consensus_t *self, cc_consensus_timeout_kind_t kind, uint32_t round)
{
    uint64_t base = kind == CC_CONSENSUS_TIMEOUT_PROPOSE ? self->timeouts.propose_ms
                  : kind == CC_CONSENSUS_TIMEOUT_PREVOTE ? self->timeouts.prevote_ms
                  : self->timeouts.precommit_ms;
    uint64_t duration = base + (uint64_t) round * self->timeouts.delta_ms;
    return duration > UINT32_MAX ? UINT32_MAX : (uint32_t) duration;
}

//  Compares two (height, round, step) triples: -1, 0 or 1.
static int
s_order (uint64_t height_a, uint32_t round_a, int step_a, uint64_t height_b, uint32_t round_b,
         int step_b)
{
    if (height_a != height_b)
        return height_a < height_b ? -1 : 1;
    if (round_a != round_b)
        return round_a < round_b ? -1 : 1;
    if (step_a != step_b)
        return step_a < step_b ? -1 : 1;
    return 0;
}

//  --- Outputs ---------------------------------------------------------------------

static cc_consensus_output_t *
s_output_new (cc_consensus_output_kind_t kind)
{
    s_output_node_t *node = (s_output_node_t *) calloc (1, sizeof (s_output_node_t));
    if (!node)
        return NULL;
    node->output.kind = kind;
    return &node->output;
}

static void
s_push (cc_consensus_t *self, cc_consensus_output_t *output)
{
    s_output_node_t *node = (s_output_node_t *) output;
    node->next = NULL;
    if (self->tail)
        self->tail->next = node;
    else
        self->head = node;
    self->tail = node;
}

//  Queues a BROADCAST of a copy of data.
static void
s_push_broadcast (cc_consensus_t *self, const uint8_t *data, size_t size)
{
    cc_consensus_output_t *output = s_output_new (CC_CONSENSUS_BROADCAST);
    if (!output)
        return;
    output->data = s_memdup (data, size);
    if (!output->data) {
        cc_consensus_output_destroy (&output);
        return;
    }
    output->size = size;
    s_push (self, output);
}

static void
s_push_schedule (cc_consensus_t *self, cc_consensus_timeout_kind_t kind)
{
    cc_consensus_output_t *output = s_output_new (CC_CONSENSUS_SCHEDULE);
    if (!output)
        return;
    output->timeout = kind;
    output->height = self->height;
    output->round = self->round;
    output->duration_ms = s_timeout_ms (self, kind, self->round);
    s_push (self, output);
}

//  --- The log: rounds, values, seen signatures ----------------------------------

static s_round_t *
s_round_find (cc_consensus_t *self, uint32_t round)
{
    for (size_t index = 0; index < self->round_count; index++)
        if (self->rounds [index]->number == round)
            return self->rounds [index];
    return NULL;
}

static bool
s_round_in_window (cc_consensus_t *self, uint32_t round)
{
    return (uint64_t) round <= (uint64_t) self->round + CC_CONSENSUS_ROUND_WINDOW;
}

static void
s_round_destroy (s_round_t **round_p)
{
    s_round_t *round = *round_p;
    if (!round)
        return;
    //  The envelopes in the slots are cleared by s_log_clear, which knows
    //  how many members there are.
    free (round->prevotes);
    free (round->precommits);
    free (round->evidence_sent);
    free (round);
    *round_p = NULL;
}

//  The round's record, created when within the window. NULL otherwise.
static s_round_t *
s_round_get (cc_consensus_t *self, uint32_t number)
{
    s_round_t *round = s_round_find (self, number);
    if (round || !s_round_in_window (self, number))
        return round;
    if (self->round_count == self->round_capacity) {
        size_t capacity = self->round_capacity ? 2 * self->round_capacity : 8;
        s_round_t **rounds = (s_round_t **) realloc (self->rounds,
                                                      capacity * sizeof (s_round_t *));
        if (!rounds)
            return NULL;
        self->rounds = rounds;
        self->round_capacity = capacity;
    }
    round = (s_round_t *) calloc (1, sizeof (s_round_t));
    if (!round)
        return NULL;
    round->number = number;
    round->prevotes = (s_vote_t *) calloc (self->members, sizeof (s_vote_t));
    round->precommits = (s_vote_t *) calloc (self->members, sizeof (s_vote_t));
    round->evidence_sent = (uint8_t *) calloc (self->members, 1);
    if (!round->prevotes || !round->precommits || !round->evidence_sent) {
        s_round_destroy (&round);
        return NULL;
    }
    self->rounds [self->round_count++] = round;
    return round;
}

static s_value_t *
s_value_find (cc_consensus_t *self, const uint8_t *hash)
{
    for (size_t index = 0; index < self->value_count; index++)
        if (memcmp (self->values [index]->hash, hash, CC_HASH_SIZE) == 0)
            return self->values [index];
    return NULL;
}

//  Adds a value, taking over bytes (freed on failure). NULL on no memory.
static s_value_t *
s_value_add (cc_consensus_t *self, const uint8_t *hash, uint8_t *bytes, size_t size,
             s_validity_t validity)
{
    if (self->value_count == self->value_capacity) {
        size_t capacity = self->value_capacity ? 2 * self->value_capacity : 8;
        s_value_t **values = (s_value_t **) realloc (self->values,
                                                      capacity * sizeof (s_value_t *));
        if (!values) {
            free (bytes);
            return NULL;
        }
        self->values = values;
        self->value_capacity = capacity;
    }
    s_value_t *value = (s_value_t *) calloc (1, sizeof (s_value_t));
    if (!value) {
        free (bytes);
        return NULL;
    }
    memcpy (value->hash, hash, CC_HASH_SIZE);
    value->bytes = bytes;
    value->size = size;
    value->validity = validity;
    self->values [self->value_count++] = value;
    return value;
}

static size_t
s_seen_slot (const Certchain__Signed *envelope, size_t capacity)
{
    uint64_t key;
    memcpy (&key, envelope->signature.data, sizeof (key));
    return (size_t) (key & (capacity - 1));
}

static bool
s_envelope_equal (const Certchain__Signed *a, const Certchain__Signed *b)
{
    return cc_bytes_equal (a->signature, b->signature) && cc_bytes_equal (a->signer, b->signer)
        && cc_bytes_equal (a->body, b->body);
}

//  True if exactly this envelope was stored at this height.
static bool
s_seen_contains (cc_consensus_t *self, const Certchain__Signed *envelope)
{
    if (self->seen_capacity == 0)
        return false;
    size_t slot = s_seen_slot (envelope, self->seen_capacity);
    while (self->seen [slot]) {
        if (s_envelope_equal (self->seen [slot], envelope))
            return true;
        slot = (slot + 1) & (self->seen_capacity - 1);
    }
    return false;
}

//  Remembers a stored envelope (it stays where it is stored). Best effort:
//  a miss only costs a verification later.
static void
s_seen_add (cc_consensus_t *self, Certchain__Signed *envelope)
{
    if (2 * (self->seen_count + 1) > self->seen_capacity) {
        size_t capacity = self->seen_capacity ? 2 * self->seen_capacity : 64;
        Certchain__Signed **seen = (Certchain__Signed **) calloc (capacity,
                                                                   sizeof (Certchain__Signed *));
        if (!seen)
            return;
        for (size_t index = 0; index < self->seen_capacity; index++) {
            Certchain__Signed *entry = self->seen [index];
            if (!entry)
                continue;
            size_t slot = s_seen_slot (entry, capacity);
            while (seen [slot])
                slot = (slot + 1) & (capacity - 1);
            seen [slot] = entry;
        }
        free (self->seen);
        self->seen = seen;
        self->seen_capacity = capacity;
    }
    size_t slot = s_seen_slot (envelope, self->seen_capacity);
    while (self->seen [slot])
        slot = (slot + 1) & (self->seen_capacity - 1);
    self->seen [slot] = envelope;
    self->seen_count++;
}

//  Keeps a copy of an own signed message for rebroadcast.
static void
s_own_add (cc_consensus_t *self, uint32_t round, bool is_proposal, const uint8_t *data,
           size_t size)
{
    if (self->own_count == self->own_capacity) {
        size_t capacity = self->own_capacity ? 2 * self->own_capacity : 16;
        s_own_t *own = (s_own_t *) realloc (self->own, capacity * sizeof (s_own_t));
        if (!own)
            return;
        self->own = own;
        self->own_capacity = capacity;
    }
    uint8_t *copy = s_memdup (data, size);
    if (!copy)
        return;
    s_own_t *entry = &self->own [self->own_count++];
    entry->round = round;
    entry->is_proposal = is_proposal;
    entry->data = copy;
    entry->size = size;
}

//  Forgets the log of the current height.
static void
s_log_clear (cc_consensus_t *self)
{
    for (size_t index = 0; index < self->round_count; index++) {
        s_round_t *round = self->rounds [index];
        for (size_t member = 0; member < self->members; member++)
            for (size_t ballot = 0; ballot < CC_CONSENSUS_VOTES_PER_MEMBER; ballot++) {
                cc_signed_clear (&round->prevotes [member].ballots [ballot].envelope);
                cc_signed_clear (&round->precommits [member].ballots [ballot].envelope);
            }
        for (size_t proposal = 0; proposal < round->proposal_count; proposal++)
            cc_signed_clear (&round->proposals [proposal].envelope);
        s_round_destroy (&self->rounds [index]);
    }
    self->round_count = 0;
    for (size_t index = 0; index < self->value_count; index++) {
        free (self->values [index]->bytes);
        free (self->values [index]);
    }
    self->value_count = 0;
    for (size_t index = 0; index < self->own_count; index++)
        free (self->own [index].data);
    self->own_count = 0;
    free (self->seen);
    self->seen = NULL;
    self->seen_count = self->seen_capacity = 0;
    free (self->max_round);
    self->max_round = NULL;
}

//  Notes that member sent something for round (the f+1 skip rule).
static void
s_note_round (cc_consensus_t *self, int member, uint32_t round)
{
    if (self->max_round && (int64_t) round > self->max_round [member])
        self->max_round [member] = round;
}

//  --- Counting --------------------------------------------------------------------

typedef enum {
    S_ANY,                      //  any vote (the paper's *)
    S_NIL,                      //  votes for nil
    S_FOR                       //  votes for one value id
} s_match_t;

static bool
s_ballot_matches (const s_ballot_t *ballot, s_match_t match, const uint8_t *hash)
{
    return match == S_ANY || (match == S_NIL && !ballot->has_hash)
        || (match == S_FOR && ballot->has_hash
            && memcmp (ballot->hash, hash, CC_HASH_SIZE) == 0);
}

//  The ballot of a member's votes that matches, or NULL.
static s_ballot_t *
s_ballot_find (s_vote_t *vote, s_match_t match, const uint8_t *hash)
{
    for (size_t index = 0; index < vote->count; index++)
        if (s_ballot_matches (&vote->ballots [index], match, hash))
            return &vote->ballots [index];
    return NULL;
}

//  Members with a vote that matches: as in the paper, a member who sent
//  two different votes counts for each of them.
static size_t
s_count (cc_consensus_t *self, s_vote_t *votes, s_match_t match, const uint8_t *hash)
{
    size_t count = 0;
    for (size_t member = 0; member < self->members; member++)
        if (s_ballot_find (&votes [member], match, hash))
            count++;
    return count;
}

//  Members who sent any message for this round.
static size_t
s_senders (cc_consensus_t *self, s_round_t *round)
{
    int proposer = -1;
    if (round->proposal_count > 0)
        proposer = cc_valset_index (self->valset,
                                    cc_valset_proposer (self->valset, self->height, round->number));
    size_t count = 0;
    for (size_t member = 0; member < self->members; member++)
        if (round->prevotes [member].count > 0 || round->precommits [member].count > 0
            || (int) member == proposer)
            count++;
    return count;
}

//  --- Signing -----------------------------------------------------------------------

//  May this validator sign (height_p, round_p, step) for this value?
//  1: it is exactly the last signed (sign again, nothing to persist);
//  0: it comes after the last signed; CC_E_DOUBLE_SIGN: refused.
static int
s_sign_check (cc_consensus_t *self, cc_consensus_step_t step, bool has_hash,
              const uint8_t *hash)
{
    int order = s_order (self->height, self->round, step, self->last.height, self->last.round,
                         self->last.step);
    if (order > 0 || self->last.height == 0)
        return 0;
    if (order == 0 && has_hash == self->last.has_hash
        && (!has_hash || memcmp (hash, self->last.hash, CC_HASH_SIZE) == 0))
        return 1;
    self->refused_signs++;
    self->refused_now = true;
    return CC_E_DOUBLE_SIGN;
}

//  Records what is about to be signed and queues its PERSIST (before the
//  BROADCAST the caller queues next).
static void
s_persist (cc_consensus_t *self, cc_consensus_output_t *persist, cc_consensus_step_t step,
           bool has_hash, const uint8_t *hash)
{
    self->last.height = self->height;
    self->last.round = self->round;
    self->last.step = step;
    self->last.has_hash = has_hash;
    memset (self->last.hash, 0, CC_HASH_SIZE);
    if (has_hash)
        memcpy (self->last.hash, hash, CC_HASH_SIZE);
    self->last.locked_round = self->locked_round;
    memset (self->last.locked_hash, 0, CC_HASH_SIZE);
    if (self->locked_round >= 0)
        memcpy (self->last.locked_hash, self->locked_hash, CC_HASH_SIZE);
    persist->height = self->height;
    persist->round = self->round;
    persist->last_signed = self->last;
    s_push (self, persist);
}

//  Signs and broadcasts ⟨type, h_p, round_p, hash or nil⟩, and logs it.
static void
s_vote (cc_consensus_t *self, Certchain__VoteType type, bool has_hash, const uint8_t *hash)
{
    if (self->my_index < 0)
        return;             //  an observer follows without voting
    cc_consensus_step_t step = type == CERTCHAIN__VOTE_TYPE__PREVOTE
                             ? CC_CONSENSUS_STEP_PREVOTE : CC_CONSENSUS_STEP_PRECOMMIT;
    int check = s_sign_check (self, step, has_hash, hash);
    if (check < 0)
        return;
    s_round_t *round = s_round_get (self, self->round);
    cc_consensus_output_t *persist = s_output_new (CC_CONSENSUS_PERSIST);
    if (!round || !persist) {
        cc_consensus_output_destroy (&persist);
        return;
    }
    Certchain__Vote vote = CERTCHAIN__VOTE__INIT;
    vote.type = type;
    vote.height = self->height;
    vote.round = self->round;
    if (has_hash)
        vote.block_hash = cc_bytes_view (hash, CC_HASH_SIZE);
    vote.validator = cc_bytes_view (cc_keypair_public (self->key), CC_PUBKEY_SIZE);
    Certchain__Signed envelope;
    if (cc_signed_make (self->key, CC_DOMAIN_VOTE, self->chain_id, &vote.base, &envelope) != 0) {
        cc_consensus_output_destroy (&persist);
        return;
    }
    Certchain__ConsensusMessage message = CERTCHAIN__CONSENSUS_MESSAGE__INIT;
    message.kind_case = CERTCHAIN__CONSENSUS_MESSAGE__KIND_VOTE;
    message.vote = &envelope;
    uint8_t *data = NULL;
    size_t size = 0;
    if (cc_codec_pack (&message.base, CC_MAX_MESSAGE_SIZE, &data, &size) != 0) {
        cc_signed_clear (&envelope);
        cc_consensus_output_destroy (&persist);
        return;
    }
    if (check == 0)
        s_persist (self, persist, step, has_hash, hash);
    else
        cc_consensus_output_destroy (&persist);
    s_push_broadcast (self, data, size);
    s_own_add (self, self->round, false, data, size);
    free (data);

    s_vote_t *slot = type == CERTCHAIN__VOTE_TYPE__PREVOTE
                   ? &round->prevotes [self->my_index] : &round->precommits [self->my_index];
    if (slot->count > 0) {
        cc_signed_clear (&envelope);    //  a copy of ours came back first
        return;
    }
    s_ballot_t *ballot = &slot->ballots [slot->count++];
    ballot->has_hash = has_hash;
    if (has_hash)
        memcpy (ballot->hash, hash, CC_HASH_SIZE);
    ballot->envelope = envelope;
    s_seen_add (self, &ballot->envelope);
    s_note_round (self, self->my_index, self->round);
}

//  Stores a proposal in its round unless already there or the round is
//  full. Takes over envelope (cleared if not stored). True if stored.
static bool
s_proposal_store (cc_consensus_t *self, s_round_t *round, Certchain__Signed *envelope,
                  const uint8_t *hash, int32_t valid_round)
{
    for (size_t index = 0; index < round->proposal_count; index++) {
        s_proposal_t *proposal = &round->proposals [index];
        if (memcmp (proposal->hash, hash, CC_HASH_SIZE) == 0
            && proposal->valid_round == valid_round) {
            cc_signed_clear (envelope);
            return false;
        }
    }
    if (round->proposal_count == CC_CONSENSUS_PROPOSALS_PER_ROUND) {
        cc_signed_clear (envelope);
        return false;
    }
    s_proposal_t *proposal = &round->proposals [round->proposal_count++];
    proposal->envelope = *envelope;
    memcpy (proposal->hash, hash, CC_HASH_SIZE);
    proposal->valid_round = valid_round;
    s_seen_add (self, &proposal->envelope);
    return true;
}

//  StartRound's proposer branch: proposes validValue with validRound, else
//  a fresh value from getValue(). False if it could not propose.
static bool
s_propose (cc_consensus_t *self)
{
    s_round_t *round = s_round_get (self, self->round);
    if (!round)
        return false;
    s_value_t *value = NULL;
    int32_t valid_round = -1;
    if (self->valid_round >= 0) {
        value = s_value_find (self, self->valid_hash);
        valid_round = self->valid_round;
    }
    if (!value) {
        valid_round = -1;
        if (!self->build)
            return false;
        uint8_t *bytes = NULL;
        size_t size = 0;
        uint8_t hash [CC_HASH_SIZE], check [CC_HASH_SIZE];
        if (self->build (self->build_arg, self->height, self->round, &bytes, &size, hash) != 0
            || !bytes)
            return false;
        //  Our own value must carry the id others will compute for it.
        if (size == 0 || size > self->max_value_size
            || self->value_id (self->value_id_arg, bytes, size, check) != 0
            || memcmp (check, hash, CC_HASH_SIZE) != 0) {
            free (bytes);
            return false;
        }
        value = s_value_find (self, hash);
        if (value)
            free (bytes);
        else
            value = s_value_add (self, hash, bytes, size, S_VALID);
        if (!value)
            return false;
    }
    int check = s_sign_check (self, CC_CONSENSUS_STEP_PROPOSE, true, value->hash);
    if (check < 0)
        return false;
    cc_consensus_output_t *persist = s_output_new (CC_CONSENSUS_PERSIST);
    if (!persist)
        return false;
    Certchain__Proposal body = CERTCHAIN__PROPOSAL__INIT;
    body.height = self->height;
    body.round = self->round;
    body.valid_round = valid_round;
    body.block_hash = cc_bytes_view (value->hash, CC_HASH_SIZE);
    body.proposer = cc_bytes_view (cc_keypair_public (self->key), CC_PUBKEY_SIZE);
    Certchain__Signed envelope;
    if (cc_signed_make (self->key, CC_DOMAIN_PROPOSAL, self->chain_id, &body.base, &envelope)
        != 0) {
        cc_consensus_output_destroy (&persist);
        return false;
    }
    Certchain__ProposalMessage proposal = CERTCHAIN__PROPOSAL_MESSAGE__INIT;
    proposal.proposal = &envelope;
    proposal.block = cc_bytes_view (value->bytes, value->size);
    Certchain__ConsensusMessage message = CERTCHAIN__CONSENSUS_MESSAGE__INIT;
    message.kind_case = CERTCHAIN__CONSENSUS_MESSAGE__KIND_PROPOSAL;
    message.proposal = &proposal;
    uint8_t *data = NULL;
    size_t size = 0;
    if (cc_codec_pack (&message.base, CC_MAX_MESSAGE_SIZE, &data, &size) != 0) {
        cc_signed_clear (&envelope);
        cc_consensus_output_destroy (&persist);
        return false;
    }
    if (check == 0)
        s_persist (self, persist, CC_CONSENSUS_STEP_PROPOSE, true, value->hash);
    else
        cc_consensus_output_destroy (&persist);
    s_push_broadcast (self, data, size);
    s_own_add (self, self->round, true, data, size);
    free (data);
    uint8_t hash [CC_HASH_SIZE];
    memcpy (hash, value->hash, CC_HASH_SIZE);
    s_proposal_store (self, round, &envelope, hash, valid_round);
    s_note_round (self, self->my_index, self->round);
    return true;
}

//  --- The algorithm ---------------------------------------------------------------

//  StartRound(round), lines 11-21.
static void
s_start_round (cc_consensus_t *self, uint32_t round, s_entry_t entered_by)
{
    self->round = round;
    self->entered_by = entered_by;
    self->step = CC_CONSENSUS_STEP_PROPOSE;
    s_round_get (self, round);
    if (self->my_index >= 0) {
        const uint8_t *proposer = cc_valset_proposer (self->valset, self->height, round);
        if (memcmp (proposer, cc_keypair_public (self->key), CC_PUBKEY_SIZE) == 0
            && s_propose (self))
            return;
    }
    //  A proposer that could not propose (no builder, refused signature)
    //  waits like everyone else rather than stalling in propose.
    s_push_schedule (self, CC_CONSENSUS_TIMEOUT_PROPOSE);
}

static s_validity_t
s_validity (cc_consensus_t *self, const uint8_t *hash)
{
    s_value_t *value = s_value_find (self, hash);
    return value ? value->validity : S_UNKNOWN;
}

static bool
s_is_locked_on (cc_consensus_t *self, const uint8_t *hash)
{
    return self->locked_round >= 0 && memcmp (self->locked_hash, hash, CC_HASH_SIZE) == 0;
}

//  Lines 22 and 28: the proposal of the current round, while in propose.
static bool
s_rule_proposal (cc_consensus_t *self)
{
    if (self->step != CC_CONSENSUS_STEP_PROPOSE)
        return false;
    s_round_t *round = s_round_find (self, self->round);
    if (!round)
        return false;
    for (size_t index = 0; index < round->proposal_count; index++) {
        s_proposal_t *proposal = &round->proposals [index];
        s_validity_t validity = s_validity (self, proposal->hash);
        bool acceptable;    //  the lock part of the condition
        if (proposal->valid_round == -1)
            //  Line 22: lockedRound = -1 or lockedValue = v.
            acceptable = self->locked_round == -1 || s_is_locked_on (self, proposal->hash);
        else {
            //  Line 28: needs 2f+1 prevotes for id(v) in round vr < round_p.
            s_round_t *valid_round = s_round_find (self, (uint32_t) proposal->valid_round);
            if ((uint32_t) proposal->valid_round >= self->round || !valid_round
                || s_count (self, valid_round->prevotes, S_FOR, proposal->hash) < self->quorum)
                continue;
            acceptable = self->locked_round <= proposal->valid_round
                      || s_is_locked_on (self, proposal->hash);
        }
        if (acceptable && validity == S_UNKNOWN)
            continue;       //  wait for the answer to VALIDATE
        self->step = CC_CONSENSUS_STEP_PREVOTE;
        if (acceptable && validity == S_VALID)
            s_vote (self, CERTCHAIN__VOTE_TYPE__PREVOTE, true, proposal->hash);
        else
            s_vote (self, CERTCHAIN__VOTE_TYPE__PREVOTE, false, NULL);
        return true;
    }
    return false;
}

//  Line 34: 2f+1 prevotes of any kind, in prevote, for the first time.
static bool
s_rule_prevote_any (cc_consensus_t *self)
{
    s_round_t *round = s_round_find (self, self->round);
    if (self->step != CC_CONSENSUS_STEP_PREVOTE || !round || round->prevote_timeout_started
        || s_count (self, round->prevotes, S_ANY, NULL) < self->quorum)
        return false;
    round->prevote_timeout_started = true;
    s_push_schedule (self, CC_CONSENSUS_TIMEOUT_PREVOTE);
    return true;
}

//  Line 36: a valid proposal of this round with 2f+1 prevotes for it, in
//  prevote or later, for the first time: lock and precommit (from prevote),
//  and in any case remember it as the valid value.
static bool
s_rule_lock (cc_consensus_t *self)
{
    s_round_t *round = s_round_find (self, self->round);
    if (self->step < CC_CONSENSUS_STEP_PREVOTE || self->step > CC_CONSENSUS_STEP_PRECOMMIT
        || !round || round->lock_rule_fired)
        return false;
    for (size_t index = 0; index < round->proposal_count; index++) {
        s_proposal_t *proposal = &round->proposals [index];
        if (s_validity (self, proposal->hash) != S_VALID
            || s_count (self, round->prevotes, S_FOR, proposal->hash) < self->quorum)
            continue;
        round->lock_rule_fired = true;
        uint8_t hash [CC_HASH_SIZE];
        memcpy (hash, proposal->hash, CC_HASH_SIZE);
        if (self->step == CC_CONSENSUS_STEP_PREVOTE) {
            self->locked_round = (int32_t) self->round;
            memcpy (self->locked_hash, hash, CC_HASH_SIZE);
            self->step = CC_CONSENSUS_STEP_PRECOMMIT;
            s_vote (self, CERTCHAIN__VOTE_TYPE__PRECOMMIT, true, hash);
        }
        self->valid_round = (int32_t) self->round;
        memcpy (self->valid_hash, hash, CC_HASH_SIZE);
        return true;
    }
    return false;
}

//  Line 44: 2f+1 prevotes for nil, in prevote.
static bool
s_rule_prevote_nil (cc_consensus_t *self)
{
    s_round_t *round = s_round_find (self, self->round);
    if (self->step != CC_CONSENSUS_STEP_PREVOTE || !round
        || s_count (self, round->prevotes, S_NIL, NULL) < self->quorum)
        return false;
    self->step = CC_CONSENSUS_STEP_PRECOMMIT;
    s_vote (self, CERTCHAIN__VOTE_TYPE__PRECOMMIT, false, NULL);
    return true;
}

//  Line 47: 2f+1 precommits of any kind, for the first time.
static bool
s_rule_precommit_any (cc_consensus_t *self)
{
    s_round_t *round = s_round_find (self, self->round);
    if (!round || round->precommit_timeout_started
        || s_count (self, round->precommits, S_ANY, NULL) < self->quorum)
        return false;
    round->precommit_timeout_started = true;
    s_push_schedule (self, CC_CONSENSUS_TIMEOUT_PRECOMMIT);
    return true;
}

//  Emits DECIDE for a proposal of round with its commit.
static void
s_decide (cc_consensus_t *self, s_round_t *round, s_value_t *value)
{
    self->step = CC_CONSENSUS_STEP_DECIDED;
    self->decided_count++;
    self->decided_round = round->number;
    memcpy (self->decided_hash, value->hash, CC_HASH_SIZE);
    cc_consensus_output_t *output = s_output_new (CC_CONSENSUS_DECIDE);
    Certchain__Signed **precommits = (Certchain__Signed **) calloc (
        self->members, sizeof (Certchain__Signed *));
    if (!output || !precommits) {
        free (precommits);
        cc_consensus_output_destroy (&output);
        return;
    }
    Certchain__Commit commit = CERTCHAIN__COMMIT__INIT;
    commit.height = self->height;
    commit.round = round->number;
    commit.block_hash = cc_bytes_view (value->hash, CC_HASH_SIZE);
    for (size_t member = 0; member < self->members; member++) {
        s_ballot_t *ballot = s_ballot_find (&round->precommits [member], S_FOR, value->hash);
        if (ballot)
            precommits [commit.n_precommits++] = &ballot->envelope;
    }
    commit.precommits = precommits;
    output->height = self->height;
    output->round = round->number;
    memcpy (output->hash, value->hash, CC_HASH_SIZE);
    output->data = s_memdup (value->bytes, value->size);
    output->size = value->size;
    int rc = cc_codec_pack (&commit.base, CC_MAX_MESSAGE_SIZE, &output->commit,
                            &output->commit_size);
    free (precommits);
    if (!output->data || rc != 0) {
        cc_consensus_output_destroy (&output);
        return;
    }
    s_push (self, output);
}

//  Line 49: a valid proposal of any round r with 2f+1 precommits for it.
static bool
s_rule_decide (cc_consensus_t *self)
{
    for (size_t index = 0; index < self->round_count; index++) {
        s_round_t *round = self->rounds [index];
        for (size_t number = 0; number < round->proposal_count; number++) {
            s_value_t *value = s_value_find (self, round->proposals [number].hash);
            if (value && value->validity == S_VALID
                && s_count (self, round->precommits, S_FOR, value->hash) >= self->quorum) {
                s_decide (self, round, value);
                return true;
            }
        }
    }
    return false;
}

//  Line 55: f+1 members sent messages of a round beyond round_p: start
//  it. Within the window this counts stored messages of exactly that
//  round, as in the paper; beyond it, where nothing is stored, the f+1
//  highest rounds members were seen in stand for them (StartRound at the
//  lowest of those, a round some correct member has reached).
static bool
s_rule_skip (cc_consensus_t *self)
{
    bool found = false;
    uint32_t target = self->round;
    for (size_t index = 0; index < self->round_count; index++) {
        s_round_t *round = self->rounds [index];
        if (round->number > self->round && round->number > target
            && s_senders (self, round) >= self->weak_quorum) {
            target = round->number;
            found = true;
        }
    }
    //  Beyond the window: the highest round r such that f+1 members were
    //  seen at r or later. Computed only when some member is out there.
    bool beyond = false;
    for (size_t member = 0; member < self->members; member++)
        if (self->max_round [member] >= 0
            && !s_round_in_window (self, (uint32_t) self->max_round [member]))
            beyond = true;
    for (size_t member = 0; beyond && member < self->members; member++) {
        int64_t candidate = self->max_round [member];
        if (candidate <= (int64_t) target || s_round_in_window (self, (uint32_t) candidate))
            continue;
        size_t at_or_above = 0;
        for (size_t other = 0; other < self->members; other++)
            if (self->max_round [other] >= candidate)
                at_or_above++;
        if (at_or_above >= self->weak_quorum) {
            target = (uint32_t) candidate;
            found = true;
        }
    }
    if (!found)
        return false;
    s_start_round (self, target, S_BY_SKIP);
    return true;
}

//  Runs the upon-rules until none fires.
static void
s_process (cc_consensus_t *self)
{
    while (self->step >= CC_CONSENSUS_STEP_PROPOSE && self->step <= CC_CONSENSUS_STEP_PRECOMMIT) {
        if (s_rule_decide (self))
            break;
        if (s_rule_skip (self) || s_rule_proposal (self) || s_rule_prevote_any (self)
            || s_rule_lock (self) || s_rule_prevote_nil (self) || s_rule_precommit_any (self))
            continue;
        break;
    }
}

//  --- Receiving -----------------------------------------------------------------

//  Buffers a message for height + 1 or + 2, already verified. 0 or BUSY.
static int
s_future_add (cc_consensus_t *self, uint64_t height, const uint8_t *signer, const uint8_t *data,
              size_t size)
{
    size_t from_signer = 0;
    for (size_t index = 0; index < self->future_count; index++) {
        s_future_t *entry = &self->future [index];
        if (memcmp (entry->signer, signer, CC_PUBKEY_SIZE) != 0)
            continue;
        if (entry->size == size && memcmp (entry->data, data, size) == 0)
            return 0;       //  already held
        from_signer++;
    }
    if (from_signer >= CC_CONSENSUS_FUTURE_PER_SIGNER
        || self->future_bytes + size > CC_CONSENSUS_FUTURE_BYTES)
        return CC_E_BUSY;
    if (self->future_count == self->future_capacity) {
        size_t capacity = self->future_capacity ? 2 * self->future_capacity : 16;
        s_future_t *future = (s_future_t *) realloc (self->future,
                                                      capacity * sizeof (s_future_t));
        if (!future)
            return CC_E_NOMEM;
        self->future = future;
        self->future_capacity = capacity;
    }
    uint8_t *copy = s_memdup (data, size);
    if (!copy)
        return CC_E_NOMEM;
    s_future_t *entry = &self->future [self->future_count++];
    entry->height = height;
    memcpy (entry->signer, signer, CC_PUBKEY_SIZE);
    entry->data = copy;
    entry->size = size;
    self->future_bytes += size;
    return 0;
}

//  Checks an envelope's shape, its signer's membership and its signature,
//  and decodes its body. 1: exactly this envelope is already stored (a
//  duplicate, not decoded); 0: decoded into *body_p with the signer's
//  index; or a refusal.
static int
s_open (cc_consensus_t *self, const Certchain__Signed *envelope, cc_domain_t domain,
        const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **body_p, int *member_p)
{
    *body_p = NULL;
    if (!envelope || !cc_bytes_sized (envelope->signature, CC_SIGNATURE_SIZE)
        || !cc_bytes_sized (envelope->signer, CC_PUBKEY_SIZE))
        return CC_E_MALFORMED;
    if (s_seen_contains (self, envelope))
        return 1;
    *member_p = cc_valset_index (self->valset, envelope->signer.data);
    if (*member_p < 0)
        return CC_E_NOT_MEMBER;
    if (envelope->body.len > S_MAX_BODY)
        return CC_E_MALFORMED;
    if (!self->verify (self->verify_arg, envelope->signer.data, domain, self->chain_id,
                       envelope->body.data, envelope->body.len, envelope->signature.data))
        return CC_E_BAD_SIGNATURE;
    int code = 0;
    *body_p = cc_codec_unpack (descriptor, envelope->body.data, envelope->body.len, S_MAX_BODY,
                               &code);
    return *body_p ? 0 : CC_E_MALFORMED;
}

//  Sorts a message by height: STALE, WRONG_HEIGHT, 1 for the next two
//  heights (buffered by the caller), 0 for the current height.
static int
s_classify (cc_consensus_t *self, uint64_t height)
{
    if (height < self->height)
        return CC_E_STALE;
    if (height > self->highest_seen)
        self->highest_seen = height;
    if (height > self->height + 2)
        return CC_E_WRONG_HEIGHT;
    return height > self->height ? 1 : 0;
}

static void
s_emit_evidence (cc_consensus_t *self, s_round_t *round, int member, uint8_t bit,
                 Certchain__Signed *first, const Certchain__Signed *second)
{
    if (round->evidence_sent [member] & bit)
        return;
    Certchain__Evidence evidence = CERTCHAIN__EVIDENCE__INIT;
    evidence.vote_a = first;
    evidence.vote_b = (Certchain__Signed *) second;
    cc_consensus_output_t *output = s_output_new (CC_CONSENSUS_EVIDENCE);
    if (!output)
        return;
    output->height = self->height;
    output->round = round->number;
    if (cc_codec_pack (&evidence.base, CC_MAX_MESSAGE_SIZE, &output->data, &output->size)
        != 0) {
        cc_consensus_output_destroy (&output);
        return;
    }
    round->evidence_sent [member] |= bit;
    self->evidence_count++;
    s_push (self, output);
}

static int
s_receive_vote (cc_consensus_t *self, const Certchain__Signed *envelope, const uint8_t *data,
                size_t size)
{
    ProtobufCMessage *body = NULL;
    int member = -1;
    int rc = s_open (self, envelope, CC_DOMAIN_VOTE, &certchain__vote__descriptor, &body,
                     &member);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    Certchain__Vote *vote = (Certchain__Vote *) body;
    if ((vote->type != CERTCHAIN__VOTE_TYPE__PREVOTE
         && vote->type != CERTCHAIN__VOTE_TYPE__PRECOMMIT)
        || (vote->block_hash.len != 0 && !cc_bytes_sized (vote->block_hash, CC_HASH_SIZE))
        || !cc_bytes_equal (vote->validator, envelope->signer)) {
        cc_codec_free (&body);
        return CC_E_MALFORMED;
    }
    rc = s_classify (self, vote->height);
    if (rc != 0) {
        if (rc == 1)
            rc = s_future_add (self, vote->height, envelope->signer.data, data, size);
        cc_codec_free (&body);
        return rc;
    }
    if (!s_round_in_window (self, vote->round)) {
        s_note_round (self, member, vote->round);
        cc_codec_free (&body);
        s_process (self);
        return 0;
    }
    s_round_t *round = s_round_get (self, vote->round);
    if (!round) {
        cc_codec_free (&body);
        return CC_E_NOMEM;
    }
    bool is_prevote = vote->type == CERTCHAIN__VOTE_TYPE__PREVOTE;
    s_vote_t *slot = is_prevote ? &round->prevotes [member] : &round->precommits [member];
    bool has_hash = vote->block_hash.len == CC_HASH_SIZE;
    if (s_ballot_find (slot, has_hash ? S_FOR : S_NIL, vote->block_hash.data)) {
        cc_codec_free (&body);
        return 0;               //  the same vote again, signed anew or relayed
    }
    if (slot->count > 0) {
        //  A different vote of the same member, type and round proves
        //  double signing. It still counts for its value (the paper's log
        //  holds every message), but only while there is room and only for
        //  nil or a value some proposal carried: junk ids take no memory.
        s_emit_evidence (self, round, member, is_prevote ? 1 : 2, &slot->ballots [0].envelope,
                         envelope);
        if (slot->count == CC_CONSENSUS_VOTES_PER_MEMBER
            || (has_hash && !s_value_find (self, vote->block_hash.data))) {
            cc_codec_free (&body);
            return 0;
        }
    }
    s_ballot_t *ballot = &slot->ballots [slot->count];
    if (cc_signed_copy (envelope, &ballot->envelope) != 0) {
        cc_codec_free (&body);
        return CC_E_NOMEM;
    }
    slot->count++;
    ballot->has_hash = has_hash;
    if (has_hash)
        memcpy (ballot->hash, vote->block_hash.data, CC_HASH_SIZE);
    s_seen_add (self, &ballot->envelope);
    s_note_round (self, member, vote->round);
    cc_codec_free (&body);
    s_process (self);
    return 0;
}

static int
s_receive_proposal (cc_consensus_t *self, const Certchain__ProposalMessage *message,
                    const uint8_t *data, size_t size)
{
    if (!message)
        return CC_E_MALFORMED;
    ProtobufCMessage *body = NULL;
    int member = -1;
    int rc = s_open (self, message->proposal, CC_DOMAIN_PROPOSAL,
                     &certchain__proposal__descriptor, &body, &member);
    if (rc != 0)
        return rc > 0 ? 0 : rc;
    Certchain__Proposal *proposal = (Certchain__Proposal *) body;
    if (!cc_bytes_sized (proposal->block_hash, CC_HASH_SIZE)
        || !cc_bytes_equal (proposal->proposer, message->proposal->signer)
        || proposal->valid_round < -1
        || (proposal->valid_round >= 0 && (uint32_t) proposal->valid_round >= proposal->round)
        || message->block.len == 0) {
        cc_codec_free (&body);
        return CC_E_MALFORMED;
    }
    if (message->block.len > self->max_value_size) {
        cc_codec_free (&body);
        return CC_E_OVERSIZE;
    }
    rc = s_classify (self, proposal->height);
    if (rc < 0) {
        cc_codec_free (&body);
        return rc;
    }
    //  id(v) must be what the proposer signed; checked before anything is
    //  kept, so a block swapped in transit cannot take the proposal's place.
    uint8_t id [CC_HASH_SIZE];
    if (self->value_id (self->value_id_arg, message->block.data, message->block.len, id) != 0
        || memcmp (id, proposal->block_hash.data, CC_HASH_SIZE) != 0) {
        cc_codec_free (&body);
        return CC_E_MALFORMED;
    }
    if (rc == 1) {
        rc = s_future_add (self, proposal->height, message->proposal->signer.data, data, size);
        cc_codec_free (&body);
        return rc;
    }
    const uint8_t *scheduled = cc_valset_proposer (self->valset, self->height, proposal->round);
    if (memcmp (scheduled, message->proposal->signer.data, CC_PUBKEY_SIZE) != 0) {
        cc_codec_free (&body);
        return CC_E_NOT_SCHEDULED;
    }
    uint32_t number = proposal->round;
    int32_t valid_round = proposal->valid_round;
    cc_codec_free (&body);
    if (!s_round_in_window (self, number)) {
        s_note_round (self, member, number);
        s_process (self);
        return 0;
    }
    s_round_t *round = s_round_get (self, number);
    if (!round)
        return CC_E_NOMEM;
    Certchain__Signed envelope;
    if (cc_signed_copy (message->proposal, &envelope) != 0)
        return CC_E_NOMEM;
    if (!s_proposal_store (self, round, &envelope, id, valid_round))
        return 0;
    s_note_round (self, member, number);
    if (!s_value_find (self, id)) {
        uint8_t *bytes = s_memdup (message->block.data, message->block.len);
        s_value_t *value = bytes
                         ? s_value_add (self, id, bytes, message->block.len, S_UNKNOWN) : NULL;
        cc_consensus_output_t *output = value ? s_output_new (CC_CONSENSUS_VALIDATE) : NULL;
        if (output) {
            output->height = self->height;
            output->round = number;
            memcpy (output->hash, id, CC_HASH_SIZE);
            output->data = s_memdup (value->bytes, value->size);
            output->size = value->size;
            if (output->data)
                s_push (self, output);
            else
                cc_consensus_output_destroy (&output);
        }
    }
    s_process (self);
    return 0;
}

static int
s_receive (cc_consensus_t *self, const uint8_t *data, size_t size)
{
    if (self->height == 0)
        return CC_E_BUSY;
    if (!data && size > 0)
        return CC_E_MALFORMED;
    int code = 0;
    ProtobufCMessage *unpacked = cc_codec_unpack (&certchain__consensus_message__descriptor,
                                                  data, size, CC_MAX_MESSAGE_SIZE, &code);
    if (!unpacked)
        return code;
    Certchain__ConsensusMessage *message = (Certchain__ConsensusMessage *) unpacked;
    int rc;
    if (message->kind_case == CERTCHAIN__CONSENSUS_MESSAGE__KIND_PROPOSAL)
        rc = s_receive_proposal (self, message->proposal, data, size);
    else if (message->kind_case == CERTCHAIN__CONSENSUS_MESSAGE__KIND_VOTE)
        rc = s_receive_vote (self, message->vote, data, size);
    else
        rc = CC_E_MALFORMED;
    cc_codec_free (&unpacked);
    return rc;
}

//  --- Life cycle ----------------------------------------------------------------

cc_consensus_t *
cc_consensus_new (const char *chain_id, cc_keypair_t *key,
                  const cc_consensus_timeouts_t *timeouts,
                  const cc_consensus_signed_t *last_signed)
{
    if (!chain_id || strlen (chain_id) == 0 || strlen (chain_id) > CC_CHAIN_ID_MAX || !timeouts)
        return NULL;
    if (last_signed && last_signed->height > 0
        && (last_signed->step < CC_CONSENSUS_STEP_PROPOSE
            || last_signed->step > CC_CONSENSUS_STEP_PRECOMMIT
            || last_signed->locked_round < -1
            || (int64_t) last_signed->locked_round > (int64_t) last_signed->round))
        return NULL;
    cc_consensus_t *self = (cc_consensus_t *) calloc (1, sizeof (cc_consensus_t));
    if (!self)
        return NULL;
    strcpy (self->chain_id, chain_id);
    self->key = key;
    self->timeouts = *timeouts;
    self->value_id = s_block_id;
    self->verify = s_default_verify;
    self->max_value_size = CC_MAX_MESSAGE_SIZE - S_ENVELOPE_ROOM;
    self->last.locked_round = -1;
    if (last_signed && last_signed->height > 0)
        self->last = *last_signed;
    self->locked_round = -1;
    self->valid_round = -1;
    self->my_index = -1;
    return self;
}

void
cc_consensus_destroy (cc_consensus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cc_consensus_t *self = *self_p;
    s_log_clear (self);
    free (self->rounds);
    free (self->values);
    free (self->own);
    for (size_t index = 0; index < self->future_count; index++)
        free (self->future [index].data);
    free (self->future);
    while (self->head) {
        s_output_node_t *node = self->head;
        self->head = node->next;
        cc_consensus_output_t *output = &node->output;
        cc_consensus_output_destroy (&output);
    }
    cc_valset_destroy (&self->valset);
    free (self);
    *self_p = NULL;
}

void
cc_consensus_set_builder (cc_consensus_t *self, cc_consensus_build_fn *fn, void *arg)
{
    assert (self);
    self->build = fn;
    self->build_arg = arg;
}

void
cc_consensus_set_value_id (cc_consensus_t *self, cc_consensus_value_id_fn *fn, void *arg)
{
    assert (self);
    self->value_id = fn ? fn : s_block_id;
    self->value_id_arg = fn ? arg : NULL;
}

void
cc_consensus_set_verifier (cc_consensus_t *self, cc_consensus_verify_fn *fn, void *arg)
{
    assert (self);
    self->verify = fn ? fn : s_default_verify;
    self->verify_arg = fn ? arg : NULL;
}

void
cc_consensus_set_max_value_size (cc_consensus_t *self, size_t max_size)
{
    assert (self);
    size_t ceiling = CC_MAX_MESSAGE_SIZE - S_ENVELOPE_ROOM;
    self->max_value_size = max_size < ceiling ? max_size : ceiling;
}

//  --- Inputs --------------------------------------------------------------------

int
cc_consensus_start_height (cc_consensus_t *self, uint64_t height, const cc_valset_t *valset)
{
    assert (self);
    if (height == 0 || height <= self->height || !valset || cc_valset_size (valset) == 0)
        return CC_E_INVALID_ARG;
    cc_valset_t *copy = cc_valset_dup (valset);
    int64_t *max_round = (int64_t *) malloc (cc_valset_size (valset) * sizeof (int64_t));
    if (!copy || !max_round) {
        cc_valset_destroy (&copy);
        free (max_round);
        return CC_E_NOMEM;
    }
    s_log_clear (self);
    cc_valset_destroy (&self->valset);
    self->valset = copy;
    self->members = cc_valset_size (copy);
    self->quorum = cc_valset_quorum (copy);
    self->weak_quorum = cc_valset_weak_quorum (copy);
    self->max_round = max_round;
    for (size_t member = 0; member < self->members; member++)
        self->max_round [member] = -1;
    self->my_index = self->key ? cc_valset_index (copy, cc_keypair_public (self->key)) : -1;
    self->height = height;
    self->refused_now = false;
    self->locked_round = -1;
    self->valid_round = -1;
    memset (self->locked_hash, 0, CC_HASH_SIZE);
    memset (self->valid_hash, 0, CC_HASH_SIZE);
    uint32_t round = 0;
    if (self->last.height == height) {
        //  Resuming a height this validator already signed in: below the
        //  recorded round it may sign nothing, and its lock still binds it.
        round = self->last.round;
        self->locked_round = self->last.locked_round;
        memcpy (self->locked_hash, self->last.locked_hash, CC_HASH_SIZE);
    }
    s_start_round (self, round, S_BY_START);

    //  Replay what arrived early; what is still ahead is buffered again.
    s_future_t *future = self->future;
    size_t future_count = self->future_count;
    self->future = NULL;
    self->future_count = self->future_capacity = 0;
    self->future_bytes = 0;
    for (size_t index = 0; index < future_count; index++) {
        if (future [index].height >= height)
            s_receive (self, future [index].data, future [index].size);
        free (future [index].data);
    }
    free (future);
    s_process (self);
    return self->refused_now ? CC_E_DOUBLE_SIGN : 0;
}

int
cc_consensus_receive (cc_consensus_t *self, const uint8_t *data, size_t size)
{
    assert (self);
    self->refused_now = false;
    int rc = s_receive (self, data, size);
    if (rc == 0 && self->refused_now)
        rc = CC_E_DOUBLE_SIGN;
    return rc;
}

int
cc_consensus_timeout (cc_consensus_t *self, cc_consensus_timeout_kind_t kind, uint64_t height,
                      uint32_t round)
{
    assert (self);
    if (kind != CC_CONSENSUS_TIMEOUT_PROPOSE && kind != CC_CONSENSUS_TIMEOUT_PREVOTE
        && kind != CC_CONSENSUS_TIMEOUT_PRECOMMIT)
        return CC_E_INVALID_ARG;
    self->refused_now = false;
    if (height != self->height || round != self->round || self->height == 0)
        return 0;
    if (kind == CC_CONSENSUS_TIMEOUT_PROPOSE && self->step == CC_CONSENSUS_STEP_PROPOSE) {
        //  OnTimeoutPropose, line 57.
        self->step = CC_CONSENSUS_STEP_PREVOTE;
        s_vote (self, CERTCHAIN__VOTE_TYPE__PREVOTE, false, NULL);
    }
    else
    if (kind == CC_CONSENSUS_TIMEOUT_PREVOTE && self->step == CC_CONSENSUS_STEP_PREVOTE) {
        //  OnTimeoutPrevote, line 61.
        self->step = CC_CONSENSUS_STEP_PRECOMMIT;
        s_vote (self, CERTCHAIN__VOTE_TYPE__PRECOMMIT, false, NULL);
    }
    else
    if (kind == CC_CONSENSUS_TIMEOUT_PRECOMMIT && self->step != CC_CONSENSUS_STEP_DECIDED
        && round < UINT32_MAX)
        //  OnTimeoutPrecommit, line 65.
        s_start_round (self, round + 1, S_BY_TIMEOUT);
    s_process (self);
    return self->refused_now ? CC_E_DOUBLE_SIGN : 0;
}

int
cc_consensus_validity (cc_consensus_t *self, const uint8_t *block_hash, bool valid)
{
    assert (self);
    self->refused_now = false;
    s_value_t *value = block_hash ? s_value_find (self, block_hash) : NULL;
    if (!value)
        return CC_E_NOT_FOUND;
    if (value->validity != S_UNKNOWN)
        return 0;
    value->validity = valid ? S_VALID : S_INVALID;
    s_process (self);
    return self->refused_now ? CC_E_DOUBLE_SIGN : 0;
}

//  Queues a BROADCAST of a stored vote (another member's, relayed).
static void
s_relay_vote (cc_consensus_t *self, Certchain__Signed *envelope)
{
    Certchain__ConsensusMessage message = CERTCHAIN__CONSENSUS_MESSAGE__INIT;
    message.kind_case = CERTCHAIN__CONSENSUS_MESSAGE__KIND_VOTE;
    message.vote = envelope;
    uint8_t *data = NULL;
    size_t size = 0;
    if (cc_codec_pack (&message.base, CC_MAX_MESSAGE_SIZE, &data, &size) == 0)
        s_push_broadcast (self, data, size);
    free (data);
}

//  Relays the votes of others for hash in round, of one type.
static void
s_relay_votes (cc_consensus_t *self, s_vote_t *votes, const uint8_t *hash)
{
    for (size_t member = 0; member < self->members; member++) {
        s_ballot_t *ballot = s_ballot_find (&votes [member], S_FOR, hash);
        if ((int) member != self->my_index && ballot)
            s_relay_vote (self, &ballot->envelope);
    }
}

//  Queues a BROADCAST of a stored proposal with its value.
static void
s_relay_proposal (cc_consensus_t *self, s_proposal_t *stored)
{
    s_value_t *value = s_value_find (self, stored->hash);
    if (!value)
        return;
    Certchain__ProposalMessage proposal = CERTCHAIN__PROPOSAL_MESSAGE__INIT;
    proposal.proposal = &stored->envelope;
    proposal.block = cc_bytes_view (value->bytes, value->size);
    Certchain__ConsensusMessage message = CERTCHAIN__CONSENSUS_MESSAGE__INIT;
    message.kind_case = CERTCHAIN__CONSENSUS_MESSAGE__KIND_PROPOSAL;
    message.proposal = &proposal;
    uint8_t *data = NULL;
    size_t size = 0;
    if (cc_codec_pack (&message.base, CC_MAX_MESSAGE_SIZE, &data, &size) == 0)
        s_push_broadcast (self, data, size);
    free (data);
}

//  Relays how this node entered its round, so that others follow it (the
//  paper's round synchronisation rests on gossip): after a precommit
//  timeout, one precommit of each member from the round before (2f+1 of
//  them: f+1 let a laggard skip there, all let it time out too); after a
//  skip, one message of each member seen in this round.
static void
s_relay_entry (cc_consensus_t *self)
{
    if (self->entered_by == S_BY_TIMEOUT && self->round > 0) {
        s_round_t *round = s_round_find (self, self->round - 1);
        for (size_t member = 0; round && member < self->members; member++)
            if ((int) member != self->my_index && round->precommits [member].count > 0)
                s_relay_vote (self, &round->precommits [member].ballots [0].envelope);
    }
    else
    if (self->entered_by == S_BY_SKIP) {
        s_round_t *round = s_round_find (self, self->round);
        int proposer = round ? cc_valset_index (self->valset, cc_valset_proposer (
                                   self->valset, self->height, self->round)) : -1;
        for (size_t member = 0; round && member < self->members; member++) {
            if ((int) member == self->my_index)
                continue;
            if (round->prevotes [member].count > 0)
                s_relay_vote (self, &round->prevotes [member].ballots [0].envelope);
            else
            if (round->precommits [member].count > 0)
                s_relay_vote (self, &round->precommits [member].ballots [0].envelope);
            else
            if ((int) member == proposer && round->proposal_count > 0)
                s_relay_proposal (self, &round->proposals [0]);
        }
    }
}

void
cc_consensus_rebroadcast (cc_consensus_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->own_count; index++) {
        s_own_t *own = &self->own [index];
        if (!own->is_proposal || own->round == self->round)
            s_push_broadcast (self, own->data, own->size);
    }
    //  The gossip the paper assumes: what a correct process received, all
    //  correct processes receive. Others' messages that matter to progress
    //  are relayed: what moved this node into its round, the 2f+1 prevotes
    //  that make validValue acceptable in a re-proposal (line 28), and once
    //  decided, the decision's proposal and precommits (line 49).
    if (self->step != CC_CONSENSUS_STEP_DECIDED)
        s_relay_entry (self);
    s_round_t *round = self->valid_round >= 0
                     ? s_round_find (self, (uint32_t) self->valid_round) : NULL;
    if (round)
        s_relay_votes (self, round->prevotes, self->valid_hash);
    round = self->step == CC_CONSENSUS_STEP_DECIDED
          ? s_round_find (self, self->decided_round) : NULL;
    s_value_t *value = round ? s_value_find (self, self->decided_hash) : NULL;
    if (!value)
        return;
    for (size_t index = 0; index < round->proposal_count; index++)
        if (memcmp (round->proposals [index].hash, self->decided_hash, CC_HASH_SIZE) == 0) {
            s_relay_proposal (self, &round->proposals [index]);
            break;
        }
    s_relay_votes (self, round->precommits, self->decided_hash);
}

//  --- Outputs -------------------------------------------------------------------

cc_consensus_output_t *
cc_consensus_next (cc_consensus_t *self)
{
    assert (self);
    s_output_node_t *node = self->head;
    if (!node)
        return NULL;
    self->head = node->next;
    if (!self->head)
        self->tail = NULL;
    node->next = NULL;
    return &node->output;
}

void
cc_consensus_output_destroy (cc_consensus_output_t **output_p)
{
    if (!output_p || !*output_p)
        return;
    cc_consensus_output_t *output = *output_p;
    free (output->data);
    free (output->commit);
    free ((s_output_node_t *) output);
    *output_p = NULL;
}

//  --- Accessors -----------------------------------------------------------------

uint64_t
cc_consensus_height (cc_consensus_t *self)
{
    assert (self);
    return self->height;
}

uint32_t
cc_consensus_round (cc_consensus_t *self)
{
    assert (self);
    return self->round;
}

cc_consensus_step_t
cc_consensus_step (cc_consensus_t *self)
{
    assert (self);
    return self->step;
}

int32_t
cc_consensus_locked_round (cc_consensus_t *self)
{
    assert (self);
    return self->locked_round;
}

const cc_consensus_signed_t *
cc_consensus_last_signed (cc_consensus_t *self)
{
    assert (self);
    return &self->last;
}

void
cc_consensus_status (cc_consensus_t *self, cc_consensus_status_t *status)
{
    assert (self);
    assert (status);
    memset (status, 0, sizeof (*status));
    status->height = self->height;
    status->round = self->round;
    status->step = self->step;
    status->locked_round = self->locked_round;
    if (self->locked_round >= 0)
        memcpy (status->locked_hash, self->locked_hash, CC_HASH_SIZE);
    status->valid_round = self->valid_round;
    if (self->valid_round >= 0)
        memcpy (status->valid_hash, self->valid_hash, CC_HASH_SIZE);
    status->is_member = self->my_index >= 0;
    status->highest_height_seen = self->highest_seen;
    status->buffered = self->future_count;
    status->refused_signs = self->refused_signs;
    status->evidence = self->evidence_count;
    status->decided = self->decided_count;
}

const char *
cc_consensus_step_name (cc_consensus_step_t step)
{
    switch (step) {
        case CC_CONSENSUS_STEP_NONE: return "none";
        case CC_CONSENSUS_STEP_PROPOSE: return "propose";
        case CC_CONSENSUS_STEP_PREVOTE: return "prevote";
        case CC_CONSENSUS_STEP_PRECOMMIT: return "precommit";
        case CC_CONSENSUS_STEP_DECIDED: return "decided";
    }
    return "unknown";
}

const char *
cc_consensus_output_name (cc_consensus_output_kind_t kind)
{
    switch (kind) {
        case CC_CONSENSUS_PERSIST: return "persist";
        case CC_CONSENSUS_BROADCAST: return "broadcast";
        case CC_CONSENSUS_SCHEDULE: return "schedule";
        case CC_CONSENSUS_VALIDATE: return "validate";
        case CC_CONSENSUS_DECIDE: return "decide";
        case CC_CONSENSUS_EVIDENCE: return "evidence";
    }
    return "unknown";
}
