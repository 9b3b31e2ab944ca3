//! Entities (users, services, thieves), their wallet software and their addresses.

use rand::Rng;

use crate::address::{Addr, AddrKind};
use crate::txbuild::{Lock, Order, Style};
use crate::wallet::{Selection, Utxo};

/// What an entity is, as `truth/entities.csv` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A person with a wallet.
    User,
    /// A custodial exchange.
    Exchange,
    /// A shop that takes bitcoin itself.
    Merchant,
    /// A payment processor that takes payments for merchants.
    PaymentProcessor,
    /// A mining pool.
    MiningPool,
    /// A gambling site.
    Gambling,
    /// A CoinJoin coordinator (its fee addresses).
    Coinjoin,
    /// An over-the-counter broker.
    Otc,
    /// A thief.
    Thief,
}

impl Kind {
    /// The `kind` column of `entities.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Exchange => "exchange",
            Kind::Merchant => "merchant",
            Kind::PaymentProcessor => "payment_processor",
            Kind::MiningPool => "mining_pool",
            Kind::Gambling => "gambling",
            Kind::Coinjoin => "coinjoin_coordinator",
            Kind::Otc => "otc",
            Kind::Thief => "thief",
        }
    }
}

/// The wallet software an entity runs: how it builds transactions and picks addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Software {
    /// Bitcoin Core: anti-fee-sniping locktime, RBF sequence, random change position, change
    /// of the payment's script type, low-R signatures.
    Core,
    /// Electrum-like: locktime at the tip, RBF sequence, BIP69 ordering.
    Electrum,
    /// A simple mobile or web wallet: locktime 0, final sequence, change last.
    Mobile,
    /// An old web wallet that sends change back to the spending address and receives on one
    /// address.
    Reuser,
    /// Custom service software (exchanges, pools, processors), see [`ServiceStyle`].
    Service(ServiceStyle),
}

/// Transaction habits of a service's in-house software.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServiceStyle {
    /// Output ordering.
    pub order: Order,
    /// Transaction version.
    pub version: i32,
    /// Opt into replace-by-fee (sequence `0xfffffffd`) or not (`0xffffffff`).
    pub rbf: bool,
    /// Pays change to a small set of reused hot addresses instead of fresh ones.
    pub reuse_change: bool,
}

impl ServiceStyle {
    /// A random in-house style.
    pub fn random(rng: &mut impl Rng) -> ServiceStyle {
        let order = match rng.gen_range(0..4) {
            0 => Order::Shuffle,
            1 => Order::Bip69,
            2 => Order::ChangeLast,
            _ => Order::ChangeFirst,
        };
        ServiceStyle {
            order,
            version: if rng.gen_bool(0.6) { 2 } else { 1 },
            rbf: rng.gen_bool(0.3),
            reuse_change: rng.gen_bool(0.4),
        }
    }
}

impl Software {
    /// A software for a new user wallet.
    pub fn pick_user(rng: &mut impl Rng) -> Software {
        match rng.gen_range(0..100) {
            0..=34 => Software::Core,
            35..=54 => Software::Electrum,
            55..=89 => Software::Mobile,
            _ => Software::Reuser,
        }
    }

    /// How this software builds transactions.
    pub fn style(self) -> Style {
        match self {
            Software::Core => {
                Style { version: 2, lock: Lock::AntiSnipe, sequence: 0xffff_fffd, order: Order::Shuffle, low_r: true }
            }
            Software::Electrum => {
                Style { version: 2, lock: Lock::Tip, sequence: 0xffff_fffd, order: Order::Bip69, low_r: true }
            }
            Software::Mobile => {
                Style { version: 2, lock: Lock::Zero, sequence: 0xffff_ffff, order: Order::ChangeLast, low_r: false }
            }
            Software::Reuser => {
                Style { version: 1, lock: Lock::Zero, sequence: 0xffff_ffff, order: Order::ChangeLast, low_r: false }
            }
            Software::Service(s) => Style {
                version: s.version,
                lock: Lock::Zero,
                sequence: if s.rbf { 0xffff_fffd } else { 0xffff_ffff },
                order: s.order,
                low_r: true,
            },
        }
    }

    /// How this software chooses coins.
    pub fn selection(self) -> Selection {
        match self {
            Software::Core | Software::Electrum => Selection::Core,
            Software::Mobile | Software::Reuser => Selection::Largest,
            Software::Service(_) => Selection::Oldest,
        }
    }
}

/// A customer account at a service (exchange, OTC desk, gambling site): the deposit address
/// the service assigned to this customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Account {
    /// The service's entity.
    pub service: u32,
    /// The deposit address's key index in the service's wallet.
    pub index: u32,
    /// Its script type.
    pub kind: AddrKind,
    /// Whether it has received coins (and so is in `addresses.csv`).
    pub used: bool,
}

impl Account {
    /// The deposit address.
    pub fn addr(&self) -> Addr {
        Addr { entity: self.service, index: self.index, kind: self.kind }
    }
}

/// Flags of a user.
pub(crate) mod flags {
    /// Mixes coins in CoinJoins.
    pub const PRIVACY: u8 = 1;
    /// Offers coins to JoinMarket takers.
    pub const MAKER: u8 = 2;
    /// Mines in a pool.
    pub const MINER: u8 = 4;
}

/// An entity and its wallet.
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    /// What it is.
    pub kind: Kind,
    /// Wallet software.
    pub software: Software,
    /// Preferred script type of new addresses.
    pub addr_kind: AddrKind,
    /// Percent chance of giving out an old receive address again.
    pub reuse_pct: u8,
    /// Next unused key index.
    pub next_index: u32,
    /// Last receive address given out (`u32::MAX`: none yet).
    pub last_receive: u32,
    /// Unspent outputs, in pockets whose meaning depends on the kind.
    pub pockets: Vec<Vec<Utxo>>,
    /// Satoshis received, all outputs paying this entity.
    pub received: u64,
    /// Satoshis spent.
    pub spent: u64,
    /// Customer accounts at services.
    pub accounts: [Option<Account>; 2],
    /// [`flags`].
    pub flags: u8,
    /// Listed among the users with coins (a user whose main pocket ran dry is dropped lazily).
    pub funded: bool,
}

impl Entity {
    /// An entity with empty pockets.
    pub fn new(kind: Kind, software: Software, addr_kind: AddrKind, reuse_pct: u8) -> Entity {
        Entity {
            kind,
            software,
            addr_kind,
            reuse_pct,
            next_index: 0,
            last_receive: u32::MAX,
            pockets: Vec::new(),
            received: 0,
            spent: 0,
            accounts: [None; 2],
            flags: 0,
            funded: false,
        }
    }

    /// Pocket `p`, created if needed.
    pub fn pocket(&mut self, p: u8) -> &mut Vec<Utxo> {
        let p = p as usize;
        if self.pockets.len() <= p {
            self.pockets.resize_with(p + 1, Vec::new);
        }
        &mut self.pockets[p]
    }

    /// Pocket `p`, or nothing if it was never created.
    pub fn pocket_ref(&self, p: u8) -> &[Utxo] {
        self.pockets.get(p as usize).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// A fresh key index.
    pub fn next_key(&mut self) -> u32 {
        let i = self.next_index;
        self.next_index += 1;
        i
    }
}

/// An address handed out, and whether it is new (to be written to `addresses.csv`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Handout {
    /// The address.
    pub addr: Addr,
    /// First use.
    pub fresh: bool,
}

/// Hands out a fresh address of `kind`.
pub(crate) fn fresh(entities: &mut [Entity], e: u32, kind: AddrKind) -> Handout {
    let index = entities[e as usize].next_key();
    Handout { addr: Addr { entity: e, index, kind }, fresh: true }
}

/// Hands out a receive address as the entity's wallet would: a fresh one, or with its reuse
/// habit an old one again.
pub(crate) fn receive(entities: &mut [Entity], e: u32, rng: &mut impl Rng) -> Handout {
    let ent = &mut entities[e as usize];
    let kind = ent.addr_kind;
    let reuse = ent.last_receive != u32::MAX
        && (ent.software == Software::Reuser || rng.gen_range(0..100) < ent.reuse_pct as u32);
    if reuse {
        return Handout { addr: Addr { entity: e, index: ent.last_receive, kind }, fresh: false };
    }
    let index = ent.next_key();
    ent.last_receive = index;
    Handout { addr: Addr { entity: e, index, kind }, fresh: true }
}

/// Hands out the change address of a payment to `payee_kind` spending from `first_input`.
pub(crate) fn change(entities: &mut [Entity], e: u32, payee_kind: AddrKind, first_input: Addr) -> Handout {
    let ent = &mut entities[e as usize];
    match ent.software {
        // Old web wallets send change back to where the coins came from.
        Software::Reuser => Handout { addr: first_input, fresh: false },
        // Core matches the change type to the payment's so that the change does not stand out.
        Software::Core if payee_kind != AddrKind::P2wsh => fresh(entities, e, payee_kind),
        _ => {
            let kind = ent.addr_kind;
            fresh(entities, e, kind)
        }
    }
}
