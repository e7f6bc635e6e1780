//! `dci keygen`, `dci sign`, `dci verify`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use dci::keys::{Algorithm, Jwks, SigningKey, VerifyingKey};
use dci::signature::{self, DigestAlgorithm, KeyResolver, Profile, Signer, VerifyOptions};
use dci::ErrorKind;

use super::{parse_time, CmdResult, Failure};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AlgArg {
    Ed25519,
    Rsa,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ProfileArg {
    Spdci,
    JwsDetached,
    JwsCompact,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Self {
        match p {
            ProfileArg::Spdci => Profile::Spdci,
            ProfileArg::JwsDetached => Profile::JwsDetached,
            ProfileArg::JwsCompact => Profile::JwsCompact,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DigestArg {
    Sha256,
    Blake512,
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Key algorithm.
    #[arg(long, value_enum, default_value = "ed25519")]
    pub alg: AlgArg,
    /// RSA modulus size (2048, 3072, 4096 or 8192).
    #[arg(long, default_value_t = 2048)]
    pub bits: usize,
    /// Where to write the private key; the public key goes beside it as NAME.pub.pem.
    #[arg(long)]
    pub out: PathBuf,
    /// Sender id for the JWK kid `{sender}|{key-id}|{alg}` (without it the kid is the RFC 7638 thumbprint).
    #[arg(long)]
    pub sender: Option<String>,
    /// Key id for the kid (default: the key's RFC 7638 thumbprint).
    #[arg(long)]
    pub key_id: Option<String>,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The private key (PKCS#8 or PKCS#1 PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// Signature profile.
    #[arg(long, value_enum, default_value = "spdci")]
    pub profile: ProfileArg,
    /// Sender id of the kid (default: the envelope's header.sender_id).
    #[arg(long)]
    pub sender_id: Option<String>,
    /// Key id of the kid (default: the key's RFC 7638 thumbprint).
    #[arg(long)]
    pub key_id: Option<String>,
    /// Signing time, unix seconds or RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    pub now: Option<i64>,
    /// Seconds from created to expires (spdci).
    #[arg(long, default_value_t = 300)]
    pub validity: i64,
    /// Digest of the spdci signing string.
    #[arg(long, value_enum, default_value = "sha256")]
    pub digest: DigestArg,
    /// Read the envelope from this file instead of stdin.
    #[arg(long = "in")]
    pub input: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("keys").required(true).args(["pubkey", "jwks"])))]
pub struct VerifyArgs {
    /// The signer's public key (SPKI PEM; a private key PEM also works).
    #[arg(long)]
    pub pubkey: Option<PathBuf>,
    /// A JWKS file: the key is chosen by the signature's kid.
    #[arg(long)]
    pub jwks: Option<PathBuf>,
    /// Verification time, unix seconds or RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    pub now: Option<i64>,
    /// Expected profile (default: detected from the signature's form).
    #[arg(long, value_enum)]
    pub profile: Option<ProfileArg>,
    /// Allowed clock skew for `created`, in seconds.
    #[arg(long, default_value_t = 60)]
    pub clock_skew: i64,
    /// Read the envelope from this file instead of stdin.
    #[arg(long = "in")]
    pub input: Option<PathBuf>,
}

fn read_file(path: &Path, what: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {what} {}: {e}", path.display())))
}

fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    match path {
        Some(p) => {
            buf = std::fs::read(p)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", p.display())))?
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        }
    }
    Ok(buf)
}

fn write_stdout(bytes: &[u8]) -> CmdResult {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush())
        .map_err(|e| Failure::usage(format!("cannot write stdout: {e}")))
}

/// `key.pem` -> `key.pub.pem`; any other name gets `.pub.pem` appended.
pub fn public_path(private: &Path) -> PathBuf {
    let name = private
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let public = match name.strip_suffix(".pem") {
        Some(stem) => format!("{stem}.pub.pem"),
        None => format!("{name}.pub.pem"),
    };
    private.with_file_name(public)
}

pub(crate) fn write_new(path: &Path, contents: &[u8], mode: u32, force: bool) -> CmdResult {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = opts.open(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (use --force to overwrite)"
        } else {
            ""
        };
        Failure::usage(format!("cannot create {}: {e}{hint}", path.display()))
    })?;
    #[cfg(unix)]
    {
        // An existing file keeps its old mode on --force; tighten it explicitly.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| Failure::usage(format!("cannot chmod {}: {e}", path.display())))?;
    }
    file.write_all(contents)
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))
}

fn kid_for(key: &VerifyingKey, sender: Option<&str>, key_id: Option<&str>) -> String {
    let thumb = key.thumbprint();
    match sender {
        Some(s) => format!(
            "{s}|{}|{}",
            key_id.unwrap_or(&thumb),
            key.algorithm().dci_name()
        ),
        None => key_id.map(str::to_owned).unwrap_or(thumb),
    }
}

pub fn keygen(args: KeygenArgs) -> CmdResult {
    let key = match args.alg {
        AlgArg::Ed25519 => SigningKey::generate(Algorithm::Ed25519),
        AlgArg::Rsa => SigningKey::generate_rsa(args.bits),
    }
    .map_err(|e| Failure::usage(e.to_string()))?;
    let private = key.to_pem().map_err(|e| Failure::usage(e.to_string()))?;
    let public = key
        .verifying_key()
        .to_pem()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let public_file = public_path(&args.out);
    write_new(&args.out, private.as_bytes(), 0o600, args.force)?;
    write_new(&public_file, public.as_bytes(), 0o644, args.force)?;
    let vk = key.verifying_key();
    let kid = kid_for(&vk, args.sender.as_deref(), args.key_id.as_deref());
    let jwk = vk.to_jwk(Some(&kid));
    let text = serde_json::to_string_pretty(&jwk).map_err(|e| Failure::usage(e.to_string()))?;
    write_stdout(text.as_bytes())?;
    eprintln!(
        "dci: wrote {} (private, mode 0600) and {}",
        args.out.display(),
        public_file.display()
    );
    Ok(())
}

pub fn sign(args: SignArgs) -> CmdResult {
    let pem = read_file(&args.key, "key")?;
    let key = SigningKey::from_pem(&pem).map_err(|e| Failure::usage(e.to_string()))?;
    let input = read_input(args.input.as_deref())?;
    let sender = match args.sender_id {
        Some(s) => s,
        None => header_sender_id(&input)?,
    };
    let key_id = args
        .key_id
        .unwrap_or_else(|| key.verifying_key().thumbprint());
    let mut signer = Signer::new(key, sender, key_id);
    signer.profile = args.profile.into();
    signer.validity_secs = args.validity;
    signer.digest = match args.digest {
        DigestArg::Sha256 => DigestAlgorithm::Sha256,
        DigestArg::Blake512 => DigestAlgorithm::Blake512,
    };
    let signed = signer
        .sign_bytes(&input, args.now)
        .map_err(|e| Failure::invalid(format!("cannot sign: {e}")))?;
    write_stdout(&signed)
}

fn header_sender_id(input: &[u8]) -> Result<String, Failure> {
    let root =
        dci::canonical::parse(input).map_err(|e| Failure::invalid(format!("cannot sign: {e}")))?;
    root.get("header")
        .and_then(|h| h.get("sender_id"))
        .and_then(|s| s.as_str())
        .map(|s| s.into_owned())
        .ok_or_else(|| {
            Failure::usage("the envelope has no header.sender_id; give --sender-id for the kid")
        })
}

pub fn verify(args: VerifyArgs) -> CmdResult {
    let resolver: Box<dyn KeyResolver> = match (&args.pubkey, &args.jwks) {
        (Some(path), _) => {
            let pem = read_file(path, "public key")?;
            Box::new(VerifyingKey::from_pem(&pem).map_err(|e| Failure::usage(e.to_string()))?)
        }
        (None, Some(path)) => {
            let text = read_file(path, "JWKS")?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| Failure::usage(format!("{} is not JSON: {e}", path.display())))?;
            Box::new(Jwks::from_json(&value).map_err(|e| Failure::usage(e.to_string()))?)
        }
        (None, None) => return Err(Failure::usage("give --pubkey or --jwks")),
    };
    let input = read_input(args.input.as_deref())?;
    let opts = VerifyOptions {
        now: args.now,
        clock_skew_secs: args.clock_skew,
        profile: args.profile.map(Profile::from),
    };
    match signature::verify_bytes(&input, resolver.as_ref(), &opts) {
        Ok(v) => {
            let mut line = format!(
                "valid: profile={} algorithm={}",
                v.profile.name(),
                v.algorithm.dci_name()
            );
            if let Some(kid) = &v.kid {
                line.push_str(&format!(" kid={kid}"));
            }
            if let (Some(c), Some(e)) = (v.created, v.expires) {
                line.push_str(&format!(" created={c} expires={e}"));
            }
            write_stdout(line.as_bytes())
        }
        Err(e) => {
            let what = match e.kind() {
                ErrorKind::SignatureInvalid => "tampered or signed with another key",
                ErrorKind::SignatureExpired => "expired",
                ErrorKind::SignatureNotYetValid => "not yet valid",
                ErrorKind::SignatureMissing => "missing signature",
                ErrorKind::SignatureMalformed | ErrorKind::Json => "malformed",
                ErrorKind::Key => "wrong key",
                ErrorKind::UnsupportedAlgorithm => "unsupported algorithm",
                _ => "error",
            };
            Err(Failure::invalid(format!("invalid ({what}): {e}")))
        }
    }
}
