//! `sleuth tags`: import attributions (GraphSense TagPacks, OFAC lists, CSV) and look them up.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use sleuth_tags::{ImportReport, Tag, TagFormat, TagStore};

use crate::output::{print, Human};
use crate::Context;

/// Attribute addresses with tags.
#[derive(Debug, clap::Args)]
pub struct TagsCmd {
    #[command(subcommand)]
    pub cmd: TagsSub,
}

/// `tags` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TagsSub {
    /// Import a tag file; importing the same file again replaces what it imported before.
    Import {
        /// The file: a TagPack (.yaml), an OFAC list (sanctioned_addresses_<ASSET>.txt), the
        /// SDN advanced XML, or a CSV with header address,label,category,source.
        file: PathBuf,
        /// tagpack, ofac, ofac-sdn or csv [default: from the file's extension].
        #[arg(long)]
        format: Option<TagFormat>,
    },
    /// Tags of an address (of any chain).
    Show {
        /// The address.
        address: String,
    },
}

/// The tag store of a data dir.
pub(crate) fn tag_store(data_dir: &Path) -> anyhow::Result<TagStore> {
    Ok(TagStore::open(&data_dir.join("tags"))?)
}

/// Tags on the members of cluster `root`, except on `skip`.
pub(crate) fn cluster_tags(
    index: &sleuth_index::Index,
    clustering: &sleuth_analysis::cluster::Clustering,
    store: &TagStore,
    root: u32,
    skip: Option<&str>,
) -> Vec<Tag> {
    let mut tags = Vec::new();
    for m in clustering.members(root) {
        let a = index.address_of(m);
        if Some(a.as_str()) != skip {
            tags.extend(store.tags_for(&a).iter().cloned());
        }
    }
    tags
}

fn guess_format(file: &Path) -> anyhow::Result<TagFormat> {
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    Ok(match ext.as_str() {
        "yaml" | "yml" => TagFormat::TagPack,
        "xml" => TagFormat::OfacSdn,
        "csv" => TagFormat::Csv,
        "txt" | "json" => TagFormat::Ofac,
        _ => anyhow::bail!("{}: cannot tell the format from the extension; pass --format", file.display()),
    })
}

/// Tags of one address.
#[derive(Debug, Serialize)]
pub struct TagList {
    /// The address.
    pub address: String,
    /// Its tags.
    pub tags: Vec<Tag>,
}

impl TagsCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        std::fs::create_dir_all(&ctx.data_dir).with_context(|| format!("creating {}", ctx.data_dir.display()))?;
        let mut store = tag_store(&ctx.data_dir)?;
        match self.cmd {
            TagsSub::Import { file, format } => {
                let format = match format {
                    Some(f) => f,
                    None => guess_format(&file)?,
                };
                print(ctx, &store.import(&file, format)?);
            }
            TagsSub::Show { address } => {
                let tags = store.tags_for(address.trim()).to_vec();
                print(ctx, &TagList { address, tags });
            }
        }
        Ok(())
    }
}

/// One line per tag, for people.
pub(crate) fn tag_lines(tags: &[Tag]) -> String {
    tags.iter()
        .map(|t| {
            format!(
                "  {} [{}] {}{} (source {}, confidence {})\n",
                t.label,
                t.category.as_deref().unwrap_or("-"),
                t.address,
                t.actor.as_ref().map(|a| format!(", actor {a}")).unwrap_or_default(),
                t.source,
                t.confidence.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

impl Human for ImportReport {
    fn human(&self) -> String {
        let mut s = format!(
            "imported {} tags on {} addresses from {} ({}){}\n",
            self.tags,
            self.addresses,
            self.file,
            self.format,
            if self.replaced { ", replacing the previous import of this source" } else { "" }
        );
        for (c, n) in &self.by_currency {
            s += &format!("  {c}: {n}\n");
        }
        s
    }
}

impl Human for TagList {
    fn human(&self) -> String {
        if self.tags.is_empty() {
            return format!("{}: no tags\n", self.address);
        }
        format!("{}:\n{}", self.address, tag_lines(&self.tags))
    }
}
