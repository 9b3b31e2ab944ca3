//! `sleuth tags`: import attributions (GraphSense TagPacks, OFAC lists, CSV) and look them up.

use std::path::{Path, PathBuf};

use sleuth_engine::views::TagList;
use sleuth_engine::Engine;
use sleuth_tags::{ImportReport, Tag, TagFormat};

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

impl TagsCmd {
    pub(crate) fn run(self, ctx: &Context) -> anyhow::Result<()> {
        let engine = Engine::open(&ctx.data_dir);
        match self.cmd {
            TagsSub::Import { file, format } => {
                let format = match format {
                    Some(f) => f,
                    None => guess_format(&file)?,
                };
                print(ctx, &engine.import_tags(&file, format)?);
            }
            TagsSub::Show { address } => print(ctx, &engine.tags_of(&address)?),
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
        if self.refused > 0 {
            s += &format!("left out {} entries whose address is no address of its chain:\n", self.refused);
            for r in &self.refused_tags {
                s += &format!("  {}:{}: {}\n", self.file, r.line, r.reason);
            }
            if self.refused > self.refused_tags.len() {
                s += &format!(
                    "  … and {} more (all in --json's refused count)\n",
                    self.refused - self.refused_tags.len()
                );
            }
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
