#  certchain-relay: the "mainnet" relay (example; README.md, "Running a
#  network by hand"). Paths are relative to the folder it is started in.
#  Check it with: certchain-relay -c relay.zpl --print-config
log
    level = "info"
store
    #  its own RocksDB: committed blocks, tx index, validator-set view
    path = "relay-data"
genesis
    path = "genesis.zpl"
relay
    #  ROUTER: SubmitTx, UploadBlock, GetBlocks, GetBlock, GetTx, GetStatus
    rpc = "tcp://127.0.0.1:7101"
    #  XPUB: topics txb (submitted txs, batched), tx, cns, blk, evt
    #  (services, certchain-tap)
    pub = "tcp://127.0.0.1:7102"
    #  XSUB: gossip in (consensus messages, metrics events)
    gossip = "tcp://127.0.0.1:7103"
