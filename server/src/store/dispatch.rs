//! [`Store`], the backend chosen at start, and [`store_trait!`], which
//! declares a storage trait and implements it for [`Store`] in one place.

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::types::StoreResult;

/// The server's storage: embedded SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens the database a URL names (`postgres://…`, `sqlite://path`) and
    /// applies its migrations.
    pub async fn open(url: &str, max_connections: u32) -> StoreResult<Store> {
        match sqlite_path(url) {
            Some(path) => Ok(Store::Sqlite(SqliteStore::open(path).await?)),
            None => Ok(Store::Postgres(
                PgStore::connect(url, max_connections).await?,
            )),
        }
    }
}

/// The SQLite file a database URL names (`sqlite://path`, or a bare path);
/// `None` for PostgreSQL (`postgres://`, `postgresql://`).
pub fn sqlite_path(url: &str) -> Option<&std::path::Path> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    Some(std::path::Path::new(
        url.strip_prefix("sqlite://").unwrap_or(url),
    ))
}

/// Declares a storage trait and implements it for [`Store`], which hands
/// each call to the backend it holds. Methods are written as in a trait,
/// `async fn` or plain `fn`, every one taking `&self`. The trait gets
/// `Send + Sync + 'static` and an `async fn` becomes a method returning a
/// `Send` future (axum handlers await them); backends implement it with
/// `async fn`.
///
/// ```ignore
/// store_trait! {
///     /// What it is about.
///     pub trait ThingStore {
///         /// True when inserted.
///         async fn put_thing(&self, thing: &Thing) -> StoreResult<bool>;
///     }
/// }
/// ```
macro_rules! store_trait {
    (
        $(#[$attr:meta])*
        pub trait $name:ident { $($body:tt)* }
    ) => {
        $(#[$attr])*
        pub trait $name: Send + Sync + 'static {
            store_trait!(@declare $($body)*);
        }

        impl $name for $crate::store::Store {
            store_trait!(@dispatch $($body)*);
        }
    };

    (@declare) => {};
    (@declare
        $(#[$m:meta])*
        async fn $f:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;
        $($rest:tt)*
    ) => {
        $(#[$m])*
        fn $f(&self $(, $arg: $ty)*) -> impl ::std::future::Future<Output = $ret> + Send;
        store_trait!(@declare $($rest)*);
    };
    (@declare
        $(#[$m:meta])*
        fn $f:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;
        $($rest:tt)*
    ) => {
        $(#[$m])*
        fn $f(&self $(, $arg: $ty)*) -> $ret;
        store_trait!(@declare $($rest)*);
    };

    (@dispatch) => {};
    (@dispatch
        $(#[$m:meta])*
        async fn $f:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;
        $($rest:tt)*
    ) => {
        async fn $f(&self $(, $arg: $ty)*) -> $ret {
            match self {
                $crate::store::Store::Sqlite(s) => s.$f($($arg),*).await,
                $crate::store::Store::Postgres(s) => s.$f($($arg),*).await,
            }
        }
        store_trait!(@dispatch $($rest)*);
    };
    (@dispatch
        $(#[$m:meta])*
        fn $f:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;
        $($rest:tt)*
    ) => {
        fn $f(&self $(, $arg: $ty)*) -> $ret {
            match self {
                $crate::store::Store::Sqlite(s) => s.$f($($arg),*),
                $crate::store::Store::Postgres(s) => s.$f($($arg),*),
            }
        }
        store_trait!(@dispatch $($rest)*);
    };
}

pub(crate) use store_trait;
