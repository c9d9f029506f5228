//! `ringbase demo`: a realistic demo company. (Being written.)

pub(crate) async fn load_demo(_crm: &crm::Crm, _now: domain::Timestamp) -> anyhow::Result<String> {
    anyhow::bail!("demo is not implemented yet")
}
