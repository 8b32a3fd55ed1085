#  certchain-validator: a block producer (example; README.md, "Running a
#  network by hand"). Started with a key that is not in the validator set,
#  it joins through the CA's challenge, then takes part in consensus. For
#  more validators on one machine, override what must differ:
#      certchain-validator -c validator.zpl --key validator-2.key \
#          --store validator-2-data --admin tcp://127.0.0.1:7202
#  Check it with: certchain-validator -c validator.zpl --print-config
log
    level = "info"
store
    #  its own chain and state copy
    path = "validator-1-data"
genesis
    path = "genesis.zpl"
validator
    #  secret key file (mode 0600), made by certchain keygen
    key = "validator-1.key"
    #  ROUTER: GetStatus (certchain status --validator ...)
    admin = "tcp://127.0.0.1:7201"
    #  signature-check worker threads
    threads = "2"
    #  1: outside the set, join through the CA (and renew before expiry)
    join = "1"
    #  1: SIGTERM makes a member resign first, and exit once it is committed
    resign_on_stop = "1"
    resign_timeout_ms = "30000"
ca
    #  the CA it joins through
    join = "tcp://127.0.0.1:7401"
relay
    rpc = "tcp://127.0.0.1:7101"
    pub = "tcp://127.0.0.1:7102"
    gossip = "tcp://127.0.0.1:7103"
