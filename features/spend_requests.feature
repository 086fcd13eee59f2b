@spend
Feature: Spend requests
  The agent asks the user to approve a spend, waits for the decision, and
  changes, cancels or lists its requests.

  Background:
    Given a logged-in user with a default card

  @SR-01 @card
  Scenario: A card spend request with approval is pending with an approval URL and a next command
    When the agent runs "spend-request create --credential-type card --amount 1500 --currency usd --merchant-name 'Example Times' --merchant-url https://times.example --context {context} --request-approval"
    Then it succeeds
    And the output field "status" is "pending_approval"
    And the output field "approval_url|approval_link" starts with "{link}/"
    And the output field "_next.command" starts with "spend-request retrieve {id}"
    And Link has the spend request as "pending_approval"
    And Link has the spend request with "merchant_name" equal to "Example Times"
    And Link has the spend request with "amount" equal to "1500"

  @SR-02 @card @errors
  Scenario: A context under 100 characters is refused and nothing is created
    When the agent runs "spend-request create --credential-type card --amount 1500 --merchant-name 'Example Times' --merchant-url https://times.example --context 'Buying a thing.' --request-approval"
    Then it fails with an error
    And the error names "context"
    And no spend request was created at Link

  @SR-03 @spt @errors
  Scenario Outline: A shared payment token request naming a merchant is refused: <flag>
    When the agent runs "spend-request create --credential-type shared_payment_token --network-id profile_mock_merchant --amount 1500 <flag> --context {context} --request-approval"
    Then it fails with an error
    And no spend request was created at Link

    Examples:
      | flag                                   |
      | --merchant-name 'Example Times'        |
      | --merchant-url https://times.example   |

  @SR-04 @spt @errors
  Scenario: A shared payment token request without a network id is refused
    When the agent runs "spend-request create --credential-type shared_payment_token --amount 1500 --context {context} --request-approval"
    Then it fails with an error
    And the error names "network"
    And no spend request was created at Link

  @SR-05 @card @polling
  Scenario: Polling ends with the approved request when the user approves
    Given a card spend request pending approval
    When the agent starts "spend-request retrieve {id} --interval 0.1 --max-attempts 300"
    And the user approves the spend request once the agent has checked it 2 times
    And the agent's command finishes
    Then it succeeds
    And the output field "status" is "approved"

  @SR-06 @card @polling
  Scenario: Polling ends with denied when the user denies, and no card is returned
    Given a card spend request pending approval
    When the agent starts "spend-request retrieve {id} --include card --interval 0.1 --max-attempts 300"
    And the user denies the spend request
    And the agent's command finishes
    Then it succeeds
    And the output field "status" is "denied"
    And the output shows no card details
    And Link issued no credential

  @SR-07 @card @polling
  Scenario: Polling ends with expired when the request expires first
    Given a card spend request pending approval
    When the agent starts "spend-request retrieve {id} --interval 0.1 --max-attempts 300"
    And the spend request expires before the user acts
    And the agent's command finishes
    Then it succeeds
    And the output field "status" is "expired"

  @SR-08 @card @polling @errors
  Scenario: Polling that runs out is a retryable timeout, and polling again later works
    Given a card spend request pending approval
    When the agent runs "spend-request retrieve {id} --interval 0.05 --max-attempts 3"
    Then it fails with "POLLING_TIMEOUT"
    When the user approves the spend request
    And the agent runs "spend-request retrieve {id} --interval 0.05 --max-attempts 3"
    Then it succeeds
    And the output field "status" is "approved"

  @SR-09 @card
  Scenario: Requesting approval of a created request gives an approval link and a next command
    Given a card spend request that was never sent for approval
    When the agent runs "spend-request request-approval {id}"
    Then it succeeds
    And the output field "approval_url|approval_link" starts with "{link}/"
    And the output field "_next.command" starts with "spend-request retrieve {id}"
    And Link has the spend request as "pending_approval"

  @SR-10 @card
  Scenario: A request can be updated before approval, not after
    Given a card spend request pending approval
    When the agent runs "spend-request update {id} --amount 1800"
    Then it succeeds
    And the output field "amount" is "1800"
    And Link has the spend request with "amount" equal to "1800"
    When the user approves the spend request
    And the agent runs "spend-request update {id} --amount 2500"
    Then it fails with an error
    And Link has the spend request with "amount" equal to "1800"

  @SR-11 @card @polling
  Scenario: Polling continues through 3-D Secure to approval
    Given a card spend request pending approval
    And the issuer asked for 3-D Secure on the spend request
    When the agent starts "spend-request retrieve {id} --interval 0.1 --max-attempts 300"
    And the user completes 3-D Secure and approves
    And the agent's command finishes
    Then it succeeds
    And the output field "status" is "approved"

  @SR-11 @card @polling
  Scenario: Polling stops when the issuer needs a new spend request, and says so
    Given a card spend request pending approval
    And the issuer asked the user to create a new spend request
    When the agent runs "spend-request retrieve {id} --interval 0.05 --max-attempts 50"
    Then it succeeds
    And the output field "status" is "requires_action"
    And the output field "status_details.requires_action.next_action.resolution" is "create_new_spend_request"

  @SR-12 @card @errors
  Scenario: A duplicate of a live request is rate limited, naming the first
    Given a card spend request pending approval
    And the agent remembers the spend request as "first"
    When the agent runs "spend-request create --credential-type card --amount 1500 --currency usd --merchant-name 'Example Times' --merchant-url https://times.example --context {context} --request-approval"
    Then it fails with "spend_request_rate_limited"
    And the error names "{note:first}"

  @SR-13 @card
  Scenario: Test mode issues test credentials only
    When the agent runs "spend-request create --credential-type card --amount 1500 --merchant-name 'Example Times' --merchant-url https://times.example --context {context} --request-approval --test"
    Then it succeeds
    And Link has the spend request with "test" equal to "true"
    When the user approves the spend request
    And the agent runs "spend-request retrieve {id} --include card"
    Then the output field "card.number" starts with "4000"
    And the card number passes the Luhn check and is the card Link issued

  @SR-14 @card
  Scenario: Cancel a request; the list hides it unless history is asked for
    Given a card spend request pending approval
    When the agent runs "spend-request cancel {id}"
    Then it succeeds
    And the output field "status" is "canceled"
    And Link has the spend request as "canceled"
    When the agent runs "spend-request list"
    Then it succeeds
    And no item has "id" equal to "{id}"
    When the agent runs "spend-request list --include-history"
    Then an item has "id" equal to "{id}"

  @SR-15 @card @1x
  Scenario: The same create sent twice under one idempotency key is one spend request at Link
    When the agent runs "spend-request create --credential-type card --amount 1500 --currency usd --merchant-name 'Example Times' --merchant-url https://times.example --context {context} --idempotency-key order-42"
    Then it succeeds
    When the agent remembers the spend request as "first"
    And the agent runs "spend-request create --credential-type card --amount 1500 --currency usd --merchant-name 'Example Times' --merchant-url https://times.example --context {context} --idempotency-key order-42"
    Then it succeeds
    And the output field "id" is "{note:first}"
    When the agent runs "spend-request create --credential-type card --amount 2500 --currency usd --merchant-name 'Example Times' --merchant-url https://times.example --context {context} --idempotency-key order-42"
    Then it fails with an error
    And no spend request was created at Link
    When the agent runs "spend-request list"
    Then the output lists 1 item

  @SR-16 @card
  Scenario: Without expiry terms a request expires 12 hours after it was created
    Given a card spend request pending approval
    Then Link has the spend request expiring 12 hours after its creation
    When Link's clock moves on by 13 hours
    And the agent runs "spend-request retrieve {id}"
    Then it succeeds
    And the output field "status" is "expired"

  @SR-16 @card @1x
  Scenario: Expiry terms within 3 hours to 7 days are honoured for an allow-listed client
    Given Link allows expires_at for the client the user logged in with
    When the agent creates a card spend request expiring in 24 hours
    Then it succeeds
    And Link has the spend request expiring at the time asked

  @SR-16 @card @1x
  Scenario: Expiry terms are refused with 400 for a client not on the allow-list
    When the agent creates a card spend request expiring in 24 hours
    Then it fails with an error
    And Link answered 400 to "POST /spend_requests"
    And no spend request was created at Link

  @SR-16 @card @1x
  Scenario Outline: Expiry terms <hours> hours away are refused with 400 even for an allow-listed client
    Given Link allows expires_at for the client the user logged in with
    When the agent creates a card spend request expiring in <hours> hours
    Then it fails with an error
    And Link answered 400 to "POST /spend_requests"
    And no spend request was created at Link

    Examples:
      | hours |
      | 2     |
      | 200   |

  @SR-16 @card @1x
  Scenario: Recurring terms are sent and echoed
    When the agent runs "spend-request create --credential-type card --amount 1500 --currency usd --merchant-name 'Example Times' --merchant-url https://times.example --context {context} --recurring-interval month --recurring-interval-count 3"
    Then it succeeds
    And the output field "recurring.interval" is "month"
    And Link has the spend request with "recurring.interval_count" equal to "3"

  @SR-17 @card
  Scenario Outline: A payment outcome <status> is shown as Link sends it
    Given an approved card spend request
    And Link marks the payment <status>
    When the agent runs "spend-request retrieve {id}"
    Then it succeeds
    And the output field "status" is "<status>"
    And the output field "payment_status_details.outcome" is "<outcome>"

    Examples:
      | status    | outcome |
      | succeeded | success |
      | failed    | failure |

  @SR-17 @card @polling
  Scenario: Polling a submitted request ends at Link's outcome or hands back submitted
    Given an approved card spend request
    And Link marks the payment submitted
    When the agent starts "spend-request retrieve {id} --interval 0.1 --max-attempts 300"
    And Link marks the payment succeeded once the agent has checked it 1 times
    And the agent's command finishes
    Then it succeeds
    And the output field "status" is one of "submitted, succeeded"
