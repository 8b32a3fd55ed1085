#  certchain-verifier: stores each block only if its producer was entitled
#  to it, discards (and counts) the rest; answers queries (example;
#  README.md, "Running a network by hand").
#  Check it with: certchain-verifier -c verifier.zpl --print-config
log
    level = "info"
store
    #  verified blocks, state, tx index, discarded-block log
    path = "verifier-data"
genesis
    path = "genesis.zpl"
verifier
    #  ROUTER: GetStatus, GetAccount, GetTx, GetBlock, GetValidators, ListDiscarded
    query = "tcp://127.0.0.1:7301"
relay
    rpc = "tcp://127.0.0.1:7101"
    pub = "tcp://127.0.0.1:7102"
    gossip = "tcp://127.0.0.1:7103"
