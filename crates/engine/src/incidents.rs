//! The incident ledger: thefts with their stolen outputs, victim, actor, date and source,
//! kept in `incidents/ledger.json` of the data dir and replaced atomically at every change
//! (a failed or interrupted change leaves the ledger as it was). Stolen outputs are risk
//! sources of category `theft` for screening, and the sources of reports.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use bitcoin::Txid;
use serde::{Deserialize, Serialize};
use sleuth_index::{IndexError, Lookup, View};

use crate::EngineError;

/// Version of the ledger file.
const LEDGER_VERSION: u32 = 1;

/// A calendar day, `YYYY-MM-DD`, checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Day(String);

impl Day {
    /// The day of a Unix time (UTC).
    pub fn of_unix(secs: u64) -> Day {
        // Civil from days (Howard Hinnant's algorithm).
        let z = (secs / 86_400) as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + (m <= 2) as i64;
        Day(format!("{y:04}-{m:02}-{d:02}"))
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Day {
    type Err = String;
    fn from_str(s: &str) -> Result<Day, String> {
        let bad = || format!("{s:?} is not a date; write YYYY-MM-DD, e.g. 2026-03-04");
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().map_err(|_| bad());
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        if !(1..=12).contains(&m) || d == 0 || d > days[m as usize - 1] || y < 2009 {
            return Err(bad());
        }
        Ok(Day(s.to_owned()))
    }
}

impl TryFrom<String> for Day {
    type Error = String;
    fn try_from(s: String) -> Result<Day, String> {
        s.parse()
    }
}

impl From<Day> for String {
    fn from(d: Day) -> String {
        d.0
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stolen output (or every output of a transaction).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stolen {
    /// The theft's transaction.
    #[serde(with = "txid_text")]
    pub txid: Txid,
    /// The output, or every output when `None`.
    pub vout: Option<u32>,
}

impl FromStr for Stolen {
    type Err = String;
    /// `TXID` or `TXID:VOUT`.
    fn from_str(s: &str) -> Result<Stolen, String> {
        let (t, v) = match s.trim().split_once(':') {
            Some((t, v)) => {
                (t, Some(v.parse::<u32>().map_err(|_| format!("{s:?}: the output after ':' must be a number"))?))
            }
            None => (s.trim(), None),
        };
        let txid = Txid::from_str(t)
            .map_err(|_| format!("{} is not a txid: expected 64 hex digits", sleuth_chain::shown(t)))?;
        Ok(Stolen { txid, vout: v })
    }
}

/// A theft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Its number in the ledger (from 1).
    pub id: u32,
    /// Its name (unique).
    pub name: String,
    /// Who was robbed.
    pub victim: String,
    /// Who is believed to have done it.
    pub actor: Option<String>,
    /// The actor's id in an actor pack, when it matched one.
    pub actor_id: Option<String>,
    /// The day of the theft.
    pub date: Day,
    /// Where the attribution comes from (a URL, a report).
    pub source: Option<String>,
    /// The stolen outputs.
    pub outputs: Vec<Stolen>,
}

#[derive(Serialize, Deserialize)]
struct LedgerFile {
    version: u32,
    incidents: Vec<Incident>,
}

/// The thefts recorded in a data dir.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    path: PathBuf,
    incidents: Vec<Incident>,
}

/// What `incident add` is given.
#[derive(Debug, Clone)]
pub struct NewIncident {
    /// Name.
    pub name: String,
    /// Victim.
    pub victim: String,
    /// Actor.
    pub actor: Option<String>,
    /// Day.
    pub date: Day,
    /// Source.
    pub source: Option<String>,
    /// Stolen outputs.
    pub outputs: Vec<Stolen>,
}

impl Ledger {
    /// The ledger in the folder `dir` (`<data dir>/incidents`); empty if there is none.
    ///
    /// # Errors
    /// [`EngineError::Incident`] if the file is damaged (naming it).
    pub fn load(dir: &Path) -> Result<Ledger, EngineError> {
        let path = dir.join("ledger.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ledger { path, incidents: Vec::new() }),
            Err(e) => return Err(EngineError::io(&path, e)),
        };
        let file: LedgerFile = serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Incident(format!("{}: {e}; the ledger is damaged", path.display())))?;
        if file.version != LEDGER_VERSION {
            return Err(EngineError::Incident(format!(
                "{}: ledger version {}, this sleuth reads {LEDGER_VERSION}",
                path.display(),
                file.version
            )));
        }
        Ok(Ledger { path, incidents: file.incidents })
    }

    /// The incidents, in the order they were added.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    /// The incident with this name or number.
    pub fn find(&self, name_or_id: &str) -> Option<&Incident> {
        let id = name_or_id.parse::<u32>().ok();
        self.incidents.iter().find(|i| i.name == name_or_id || Some(i.id) == id)
    }

    /// Checks `new` against the ledger and the index (every txid and output must be
    /// there), and adds it. Nothing is written; [`Ledger::save`] does.
    ///
    /// # Errors
    /// [`EngineError::Incident`] for a duplicate name, no outputs or a stolen output twice;
    /// [`EngineError::Index`] for a txid or output the index does not hold.
    pub fn add(&mut self, view: &View<'_>, new: NewIncident) -> Result<&Incident, EngineError> {
        if new.name.trim().is_empty() {
            return Err(EngineError::Incident("an incident needs a name".into()));
        }
        if self.incidents.iter().any(|i| i.name == new.name) {
            return Err(EngineError::Incident(format!("an incident named {:?} is already in the ledger", new.name)));
        }
        if new.outputs.is_empty() {
            return Err(EngineError::Incident(format!("incident {:?} names no stolen output (--txid)", new.name)));
        }
        for s in &new.outputs {
            let t = view.tx_num(&s.txid).ok_or_else(|| IndexError::NotFound {
                lookup: Lookup::Tx(s.txid),
                message: format!("transaction {} is not in the index", s.txid),
            })?;
            let r = view.tx_output_range(t);
            if let Some(v) = s.vout {
                if v as u64 >= r.end - r.start {
                    return Err(IndexError::NotFound {
                        lookup: Lookup::Output(s.txid, v),
                        message: format!("transaction {} has {} outputs, no output {v}", s.txid, r.end - r.start),
                    }
                    .into());
                }
            }
            for other in &self.incidents {
                if other
                    .outputs
                    .iter()
                    .any(|o| o.txid == s.txid && (o.vout.is_none() || s.vout.is_none() || o.vout == s.vout))
                {
                    return Err(EngineError::Incident(format!(
                        "{}{} is already stolen in incident {:?}",
                        s.txid,
                        s.vout.map(|v| format!(":{v}")).unwrap_or_default(),
                        other.name
                    )));
                }
            }
        }
        let id = self.incidents.iter().map(|i| i.id).max().unwrap_or(0) + 1;
        self.incidents.push(Incident {
            id,
            name: new.name,
            victim: new.victim,
            actor: new.actor,
            actor_id: None,
            date: new.date,
            source: new.source,
            outputs: new.outputs,
        });
        Ok(self.incidents.last().expect("just pushed"))
    }

    /// Records the actor-pack id of incident `id`'s actor.
    pub fn set_actor_id(&mut self, id: u32, actor_id: Option<String>) {
        if let Some(i) = self.incidents.iter_mut().find(|i| i.id == id) {
            i.actor_id = actor_id;
        }
    }

    /// Writes the ledger atomically.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn save(&self) -> Result<(), EngineError> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        }
        let file = LedgerFile { version: LEDGER_VERSION, incidents: self.incidents.clone() };
        let bytes = serde_json::to_vec_pretty(&file).expect("the ledger serializes");
        sleuth_durable::write_atomic(&self.path, &bytes).map_err(|e| EngineError::io(&self.path, e))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The incidents of a CSV before their transactions are read for a chain: the rows that
/// share a name, each with its line, `txid` and `vout` as written.
pub(crate) struct CsvIncident {
    pub name: String,
    pub victim: String,
    pub actor: Option<String>,
    pub date: Day,
    pub source: Option<String>,
    pub rows: Vec<(usize, String, String)>,
}

/// The header every incident CSV starts with.
const CSV_HEADER: &str = "name,txid,vout,victim,actor,date,source";

/// An error at `line` of the incident CSV `path`.
pub(crate) fn csv_error(path: &Path, line: usize, what: impl std::fmt::Display) -> EngineError {
    EngineError::Incident(format!("{}:{line}: {what}", path.display()))
}

/// Reads an incident CSV ([`CSV_HEADER`], one row per stolen output or drain; rows with one
/// name are one incident, and must agree on its victim and date).
pub(crate) fn read_csv(path: &Path) -> Result<Vec<CsvIncident>, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::io(path, e))?;
    let bad = |line: usize, what: String| csv_error(path, line, what);
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l.trim()).unwrap_or("");
    if header != CSV_HEADER {
        return Err(bad(1, format!("the header must be {CSV_HEADER}")));
    }
    let mut out: Vec<CsvIncident> = Vec::new();
    for (n, line) in lines {
        let line_no = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 7 {
            return Err(bad(line_no, format!("{} fields, expected 7", f.len())));
        }
        let date: Day = f[5].parse().map_err(|e| bad(line_no, e))?;
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let row = (line_no, f[1].to_owned(), f[2].to_owned());
        match out.iter_mut().find(|i| i.name == f[0]) {
            Some(i) => {
                if i.victim != f[3] || i.date != date {
                    return Err(bad(
                        line_no,
                        format!("incident {:?} has another victim or date on an earlier line", f[0]),
                    ));
                }
                i.rows.push(row);
            }
            None => out.push(CsvIncident {
                name: f[0].to_owned(),
                victim: f[3].to_owned(),
                actor: opt(f[4]),
                date,
                source: opt(f[6]),
                rows: vec![row],
            }),
        }
    }
    Ok(out)
}

/// Parses an incident CSV (`name,txid,vout,victim,actor,date,source`, one row per stolen
/// output; rows with one name are one incident). Nothing is added unless every row is good.
///
/// # Errors
/// [`EngineError::Incident`] naming the file and line.
pub fn parse_csv(path: &Path) -> Result<Vec<NewIncident>, EngineError> {
    let mut out = Vec::new();
    for i in read_csv(path)? {
        let mut outputs = Vec::with_capacity(i.rows.len());
        for (line, txid, vout) in &i.rows {
            let txid = Txid::from_str(txid)
                .map_err(|_| csv_error(path, *line, format!("{} is not a txid", sleuth_chain::shown(txid))))?;
            let vout = (!vout.is_empty())
                .then(|| {
                    vout.parse::<u32>().map_err(|_| csv_error(path, *line, format!("{vout:?} is not an output index")))
                })
                .transpose()?;
            outputs.push(Stolen { txid, vout });
        }
        out.push(NewIncident {
            name: i.name,
            victim: i.victim,
            actor: i.actor,
            date: i.date,
            source: i.source,
            outputs,
        });
    }
    Ok(out)
}

/// Txids as the 64 hex digits people write.
mod txid_text {
    use std::str::FromStr;

    use bitcoin::Txid;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Txid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Txid, D::Error> {
        let s = String::deserialize(d)?;
        Txid::from_str(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_checked_and_computed_from_unix_time() {
        assert!("2026-03-04".parse::<Day>().is_ok());
        for bad in ["2026-02-30", "2026-13-01", "04/03/2026", "2026-3-4", "yesterday", "2008-12-31"] {
            assert!(bad.parse::<Day>().is_err(), "{bad}");
        }
        assert!("2024-02-29".parse::<Day>().is_ok());
        assert_eq!(Day::of_unix(1_704_067_200).as_str(), "2024-01-01");
        assert_eq!(Day::of_unix(1_231_006_505).as_str(), "2009-01-03", "the genesis block's day");
    }
}
