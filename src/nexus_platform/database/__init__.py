"""Operations on the platform's PostgreSQL databases."""
