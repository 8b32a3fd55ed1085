#  certchain-ca: the certification authority (example; README.md, "Running
#  a network by hand"). When the genesis marks its key as producing
#  (certchain genesis --ca KEY:producing) it also produces blocks with the
#  validator engine, and binds ca/admin.
#  Check it with: certchain-ca -c ca.zpl --print-config
log
    level = "info"
store
    #  pending challenges, audit log, certificates; the producer's chain
    #  lives in its subfolder producer/
    path = "ca-data"
genesis
    path = "genesis.zpl"
ca
    #  its public key must be a CA of the genesis
    key = "ca.key"
    #  ROUTER for candidates (join protocol), certchain ca-log and status
    join = "tcp://127.0.0.1:7401"
    #  the producer's admin ROUTER (GetStatus), like a validator's
    admin = "tcp://127.0.0.1:7402"
    #  the policy: what a candidate must measure and solve (empty: defaults)
    policy = "ca-policy.zpl"
    #  answers verified at once (each on two threads, with two Argon2 blocks)
    workers = "2"
relay
    rpc = "tcp://127.0.0.1:7101"
    pub = "tcp://127.0.0.1:7102"
    gossip = "tcp://127.0.0.1:7103"
