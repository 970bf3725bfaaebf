//! Read helpers shared by Ripple Mesh's coordinator zomes.
use hdk::prelude::*;

/// The record at `hash` and its entry as `T`, only if the network validated it. Plain `get`
/// returns records the network rejected too (DESIGN.md, "Rogue data is returned unless you filter it").
pub fn get_valid_entry<T>(hash: ActionHash) -> ExternResult<Option<(Record, T)>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let Some(Details::Record(details)) = get_details(hash, GetOptions::network())? else {
        return Ok(None);
    };
    if details.validation_status != ValidationStatus::Valid {
        return Ok(None);
    }
    let Ok(Some(entry)) = details.record.entry().to_app_option::<T>() else {
        return Ok(None);
    };
    Ok(Some((details.record, entry)))
}

/// The valid `T` records linked from `base` by `link_type`.
pub fn linked_valid_entries<T>(base: AnyLinkableHash, link_type: impl LinkTypeFilterExt) -> ExternResult<Vec<(ActionHash, Record, T)>>
where
    T: TryFrom<SerializedBytes, Error = SerializedBytesError>,
{
    let links = get_links(LinkQuery::new(base, link_type.try_into_filter()?), GetStrategy::Network)?;
    let mut found = Vec::with_capacity(links.len());
    for link in links {
        let Some(hash) = link.target.into_action_hash() else { continue };
        if let Some((record, entry)) = get_valid_entry::<T>(hash.clone())? {
            found.push((hash, record, entry));
        }
    }
    Ok(found)
}
