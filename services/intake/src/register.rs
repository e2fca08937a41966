//! Registering a study and its patient. Idempotent: registering the same
//! study again changes nothing (an import can be re-run safely).

use mediadist_domain::command::RegisterStudyData;
use mediadist_domain::envelope::CommandEnvelope;
use mediadist_domain::reply::Reply;
use mediadist_platform::worker::HandleError;
use sqlx::PgConnection;

pub async fn handle(
    conn: &mut PgConnection,
    env: &CommandEnvelope,
    d: RegisterStudyData,
) -> Result<Reply, HandleError> {
    let s = match d.validate() {
        Ok(s) => s,
        Err(e) => return Ok(Reply::rejected(&env.event.id, None, e.into())),
    };
    // A study already registered belongs to its patient: refuse before
    // touching any patient row, so a refusal changes nothing.
    let owner: Option<(String, String)> = sqlx::query_as(
        "SELECT p.mrn, p.issuer FROM studies s JOIN patients p ON p.id = s.patient_id WHERE s.study_uid = $1",
    )
    .bind(s.study_uid.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    if owner.is_some_and(|(mrn, issuer)| mrn != s.mrn || issuer != s.issuer) {
        return Ok(Reply::rejected(&env.event.id, None, elsewhere()));
    }
    // Upsert the patient; only a real change touches the row.
    let changed: Option<i64> = sqlx::query_scalar(
        "INSERT INTO patients (mrn, issuer, name, ic, passport_country, passport_no, birth_date, sex)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (mrn, issuer) DO UPDATE SET
            name = EXCLUDED.name,
            ic = COALESCE(EXCLUDED.ic, patients.ic),
            passport_country = COALESCE(EXCLUDED.passport_country, patients.passport_country),
            passport_no = COALESCE(EXCLUDED.passport_no, patients.passport_no),
            birth_date = COALESCE(EXCLUDED.birth_date, patients.birth_date),
            sex = COALESCE(EXCLUDED.sex, patients.sex),
            modified = now()
         WHERE (patients.name, patients.ic, patients.passport_no, patients.birth_date, patients.sex)
               IS DISTINCT FROM (EXCLUDED.name, COALESCE(EXCLUDED.ic, patients.ic), COALESCE(EXCLUDED.passport_no, patients.passport_no),
                                 COALESCE(EXCLUDED.birth_date, patients.birth_date), COALESCE(EXCLUDED.sex, patients.sex))
         RETURNING id",
    )
    .bind(&s.mrn)
    .bind(&s.issuer)
    .bind(&s.patient_name)
    .bind(s.ic.as_ref().map(|i| i.digits().to_string()))
    .bind(s.passport.as_ref().map(|p| p.country.clone()))
    .bind(s.passport.as_ref().map(|p| p.number.clone()))
    .bind(s.birth_date)
    .bind(&s.sex)
    .fetch_optional(&mut *conn)
    .await?;
    // No row back means the patient exists unchanged.
    let patient_id: i64 = match changed {
        Some(id) => id,
        None => {
            sqlx::query_scalar("SELECT id FROM patients WHERE mrn = $1 AND issuer = $2")
                .bind(&s.mrn)
                .bind(&s.issuer)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    let study_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO studies (study_uid, patient_id, accession_number, study_date, description, modalities)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (study_uid) DO NOTHING RETURNING id",
    )
    .bind(s.study_uid.as_str())
    .bind(patient_id)
    .bind(&s.accession_number)
    .bind(s.study_date)
    .bind(&s.description)
    .bind(&s.modalities)
    .fetch_optional(&mut *conn)
    .await?;
    let study_id = match study_id {
        Some(id) => id,
        None => {
            let (id, owner): (i64, i64) =
                sqlx::query_as("SELECT id, patient_id FROM studies WHERE study_uid = $1")
                    .bind(s.study_uid.as_str())
                    .fetch_one(&mut *conn)
                    .await?;
            // Registered by someone else between the check and the insert.
            if owner != patient_id {
                return Err(HandleError::Db(sqlx::Error::Protocol(
                    "study registered concurrently to another patient; retrying".into(),
                )));
            }
            id
        }
    };
    for e in &s.examinations {
        sqlx::query(
            "INSERT INTO examinations (study_id, series_uid, modality, description, series_number, instance_count)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (series_uid) DO UPDATE SET instance_count = EXCLUDED.instance_count
             WHERE examinations.instance_count <> EXCLUDED.instance_count AND examinations.study_id = EXCLUDED.study_id",
        )
        .bind(study_id)
        .bind(&e.series_uid)
        .bind(&e.modality)
        .bind(&e.description)
        .bind(e.number)
        .bind(e.instance_count)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Reply::accepted(&env.event.id, None, None))
}

fn elsewhere() -> mediadist_domain::Rejection {
    mediadist_domain::FieldError::new(
        "study.uid",
        "this study is already registered to another patient",
    )
    .into()
}
