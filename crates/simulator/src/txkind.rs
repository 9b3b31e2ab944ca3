//! What a transaction is for: the `kind` column of `transactions.csv`.

/// What a transaction is for, the `kind` column of `transactions.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxKind {
    /// A user pays another user.
    Payment,
    /// A user pays a shop's or processor's invoice.
    MerchantPayment,
    /// A wallet merges its own coins.
    Consolidation,
    /// A payment into a customer deposit address of an exchange or OTC desk.
    Deposit,
    /// An exchange pays one withdrawal.
    Withdrawal,
    /// An exchange pays many withdrawals at once.
    WithdrawalBatch,
    /// A service merges its customers' deposits into its hot wallet.
    Sweep,
    /// An exchange moves hot coins to cold storage.
    ColdStorage,
    /// An exchange refills its hot wallet from cold storage.
    HotRefill,
    /// A mining pool pays its miners.
    PoolPayout,
    /// A payment processor pays its merchants.
    Settlement,
    /// A user bets at a gambling site.
    Bet,
    /// A gambling site pays winnings.
    GamblingPayout,
    /// An OTC desk pays buyers.
    OtcTrade,
    /// A Wasabi-like CoinJoin round.
    CoinjoinWasabi,
    /// A Whirlpool-like tx0 (premix split).
    WhirlpoolTx0,
    /// A Whirlpool-like five-party mix.
    CoinjoinWhirlpool,
    /// A JoinMarket-like CoinJoin.
    CoinjoinJoinmarket,
    /// A thief drains an exchange's hot wallet.
    HeistDrain,
    /// A thief splits loot into many addresses.
    LaunderSplit,
    /// One hop of a peel chain.
    LaunderPeel,
    /// A thief merges mixed or dormant coins.
    LaunderConsolidate,
    /// A thief deposits at exchanges or OTC desks.
    LaunderCashout,
}

impl TxKind {
    /// The name written to `transactions.csv`.
    pub fn name(self) -> &'static str {
        use TxKind::*;
        match self {
            Payment => "payment",
            MerchantPayment => "merchant_payment",
            Consolidation => "consolidation",
            Deposit => "deposit",
            Withdrawal => "withdrawal",
            WithdrawalBatch => "withdrawal_batch",
            Sweep => "sweep",
            ColdStorage => "cold_storage",
            HotRefill => "hot_refill",
            PoolPayout => "pool_payout",
            Settlement => "settlement",
            Bet => "bet",
            GamblingPayout => "gambling_payout",
            OtcTrade => "otc_trade",
            CoinjoinWasabi => "coinjoin_wasabi",
            WhirlpoolTx0 => "whirlpool_tx0",
            CoinjoinWhirlpool => "coinjoin_whirlpool",
            CoinjoinJoinmarket => "coinjoin_joinmarket",
            HeistDrain => "heist_drain",
            LaunderSplit => "launder_split",
            LaunderPeel => "launder_peel",
            LaunderConsolidate => "launder_consolidate",
            LaunderCashout => "launder_cashout",
        }
    }

    /// Whether this is a CoinJoin.
    pub fn is_coinjoin(self) -> bool {
        matches!(self, TxKind::CoinjoinWasabi | TxKind::CoinjoinWhirlpool | TxKind::CoinjoinJoinmarket)
    }
}
