#  The policy of a certification authority (example; config key ca/policy
#  of certchain-ca). These are the defaults: a key left out keeps its
#  default. The CA reads the file at start: restart it after a change.
#  Check it with: certchain-ca -c ca.zpl --print-config (the policy follows
#  the configuration, as comments).
#
#  The profile limits (min_cpu_cores .. min_gpu_memory_mb) are checked on
#  the join request, before any challenge; the score limits once the answer
#  is verified. A refusal names the field and both numbers.
policy
    #  cores the candidate may run on, at least
    min_cpu_cores = 1
    #  total memory in MiB, at least
    min_memory_mb = 512
    #  free disk at the candidate's data directory in MiB, at least
    min_disk_free_mb = 100
    #  1: at least one GPU is required
    require_gpu = 0
    #  memory of the largest GPU in MiB, at least (0: any; above 0 requires a GPU)
    min_gpu_memory_mb = 0
    #  measured proof-of-work hashes per second, at least
    min_hashes_per_second = 0
    #  measured Argon2id memory filled per second in MiB, at least
    min_argon2_mib_per_second = 0
    #  challenge size N: packets to solve
    packets = 32
    #  leading zero bits of each packet's proof of work
    difficulty_bits = 16
    #  Argon2id memory per packet in KiB
    argon2_memory_kib = 8192
    #  Argon2id passes per packet
    argon2_ops = 1
    #  packets whose Argon2 output the CA recomputes (all when >= packets)
    sample_size = 4
    #  time from challenge to answer, on the CA's clock
    deadline_ms = 5000
    #  join requests per candidate key a minute (0: no limit)
    rate_per_key_per_minute = 6
    #  join requests per peer address a minute (0: no limit)
    rate_per_source_per_minute = 30
    #  a refused candidate may ask again after this long
    backoff_ms = 10000
    #  largest difference between a request's time and the CA's clock
    max_clock_skew_ms = 300000
#  Certificate validity in blocks; left out, the genesis cert_validity:
#      validity_blocks = 100000
#
#  Keys the CA refuses whatever they prove:
#  banned
#      <64 hex characters of a public key> = "why"
