//! [`named_enum!`](crate::named_enum): enums whose variants' names are written once.

/// Declares a fieldless enum whose variants each have a name (what the command line takes,
/// what is stored, what errors list), written once beside the variant, and derives from
/// those names:
///
/// - `ALL`: every variant, in declaration order;
/// - `name(self) -> &'static str` and `from_name(&str) -> Option<Self>`;
/// - `NAME_LIST`: the names joined by `", "`, for "expected one of …" errors;
/// - `Display`, which prints the name;
/// - a "Name: `…`." line closing each variant's documentation.
///
/// `FromStr` is left to the enum, whose error type is its own; `from_name` and `NAME_LIST`
/// make it one line. Opening the body with `serde:` makes each name the variant's serde
/// name too (`#[serde(rename = "…")]`, so the enum must derive `Serialize` or
/// `Deserialize`).
///
/// ```
/// sleuth_chain::named_enum! {
///     /// A colour.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Colour {
///         /// Red.
///         Red => "red",
///         /// Light blue.
///         LightBlue => "light-blue",
///     }
/// }
///
/// assert_eq!(Colour::ALL, [Colour::Red, Colour::LightBlue]);
/// assert_eq!(Colour::LightBlue.to_string(), "light-blue");
/// assert_eq!(Colour::from_name("red"), Some(Colour::Red));
/// assert_eq!(Colour::from_name("blue"), None);
/// assert_eq!(Colour::NAME_LIST, "red, light-blue");
/// ```
#[macro_export]
macro_rules! named_enum {
    (@join $first:literal $($rest:literal)*) => {
        concat!($first $(, ", ", $rest)*)
    };
    (@impl $Enum:ident { $($Variant:ident => $name:literal),+ }) => {
        impl $Enum {
            /// Every variant, in declaration order.
            pub const ALL: [$Enum; [$($name),+].len()] = [$($Enum::$Variant),+];

            /// Every name, in declaration order, joined by `", "`.
            pub const NAME_LIST: &'static str = $crate::named_enum!(@join $($name)+);

            /// The name of this variant.
            pub fn name(self) -> &'static str {
                match self {
                    $($Enum::$Variant => $name,)+
                }
            }

            /// The variant called `name`, if any.
            pub fn from_name(name: &str) -> Option<$Enum> {
                match name {
                    $($name => Some($Enum::$Variant),)+
                    _ => None,
                }
            }
        }

        impl ::core::fmt::Display for $Enum {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
    (
        serde:
        $(#[$meta:meta])*
        $vis:vis enum $Enum:ident {
            $($(#[$vmeta:meta])* $Variant:ident => $name:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $Enum {
            $($(#[$vmeta])* #[doc = ""] #[doc = concat!("Name: `", $name, "`.")] #[serde(rename = $name)] $Variant,)+
        }
        $crate::named_enum!(@impl $Enum { $($Variant => $name),+ });
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $Enum:ident {
            $($(#[$vmeta:meta])* $Variant:ident => $name:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $Enum {
            $($(#[$vmeta])* #[doc = ""] #[doc = concat!("Name: `", $name, "`.")] $Variant,)+
        }
        $crate::named_enum!(@impl $Enum { $($Variant => $name),+ });
    };
}
