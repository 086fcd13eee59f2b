//! `mpp-testkit generate --count N --seed S`: JSON Lines of generated headers
//! with the oracle's answer. `mpp-testkit corpus`: the committed corpus.

use std::io::Write;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "Generated MPP challenge headers for decoder tests")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print N generated headers as JSON Lines: {"name","values","oracle"}.
    Generate {
        /// How many headers.
        #[arg(long, default_value_t = 1000)]
        count: usize,
        /// The seed; the same seed gives the same headers.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Print the corpus (corpus/decode.jsonl) as JSON Lines.
    Corpus,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match cli.command {
        Command::Generate { count, seed } => {
            for sample in mpp_testkit::generate::samples(count, seed) {
                serde_json::to_writer(&mut out, &sample)?;
                out.write_all(b"\n")?;
            }
        }
        Command::Corpus => {
            let cases = mpp_testkit::corpus::cases();
            out.write_all(mpp_testkit::corpus::to_jsonl(&cases).as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}
